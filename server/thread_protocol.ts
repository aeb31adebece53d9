// The messages between the main thread (console, control, logs) and the serving thread (Worker).
// Plain data only: everything here crosses postMessage by structured clone.

import type { ErrorCode } from "../protocol/mod.ts";
import type { LogLevel, LogRecord } from "./log.ts";
import type { LoadReport } from "./serving/plugin_loader.ts";
import type { LiveSettings, ServerOptions } from "./serving/serve.ts";
import type { Role } from "./serving/store/store.ts";

/** Server options as they cross to the worker: the worker adds the logger and the built-in plugins. */
export type ThreadServerOptions = Omit<ServerOptions, "log" | "builtins"> & {
  logLevel: LogRecord["level"];
};

/** What the operator may ask of the serving thread. */
export type ServerCall =
  | { method: "status" }
  | { method: "users" }
  | { method: "groups" }
  | { method: "pause"; all?: boolean }
  | { method: "resume"; all?: boolean }
  | { method: "kick"; login: string; reason: string }
  | { method: "broadcast"; text: string }
  | { method: "clearIdentities" }
  | { method: "reconfigure"; settings: LiveSettings; logLevel: LogLevel }
  | { method: "userAdd"; login: string; password: string }
  | { method: "userPasswd"; login: string; password: string }
  | { method: "userDel"; login: string }
  | { method: "userList"; pattern?: string }
  | { method: "userShow"; login: string }
  | { method: "userRole"; login: string; role: Role }
  | { method: "inviteCreate"; uses: number; expiresMs?: number }
  | { method: "invites" }
  | { method: "ban"; target: string; durationMs?: number; reason: string }
  | { method: "unban"; target: string }
  | { method: "bans" }
  | { method: "metrics" };

/** Main thread to worker. */
export type ToServingThread =
  | { type: "start"; options: ThreadServerOptions }
  | { type: "call"; id: number; call: ServerCall }
  | { type: "stop"; reason: string };

/** Worker to main thread. */
export type FromServingThread =
  | { type: "ready"; endpoint: string; plugins: LoadReport }
  | { type: "failed"; error: string }
  | { type: "result"; id: number; ok: true; value: unknown }
  | { type: "result"; id: number; ok: false; error: string; code?: ErrorCode }
  | { type: "log"; record: LogRecord }
  | { type: "stopped" };
