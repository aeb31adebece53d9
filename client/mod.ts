// The client's entry point for main.ts: `chatz connect`.
// Re-exports only: the command is in run_connect.ts, the connection in connection.ts.

export { type ConnectCliOptions, runConnect } from "./run_connect.ts";
export type { FirstUsePolicy } from "./trust_prompt.ts";
