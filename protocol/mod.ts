// The chatz protocol: wire codec, message shapes, error codes and name rules.
// Server, client and plugins all depend on this module and on nothing of each other.

export * from "./errors.ts";
export * from "./messages.ts";
export * from "./names.ts";
export * from "./file_errors.ts";
export * from "./plural.ts";
export * from "./requests.ts";
export * from "./wire.ts";
export * from "./words.ts";
