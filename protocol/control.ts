// The operator control wire: `chatz admin` talks to a running server over an ipc socket in its data folder.
// Frames as in the chat protocol: a version frame, then one JSON request or reply.

import { join } from "node:path";
import type { ErrorCode } from "./errors.ts";

/** The first frame of every control message. */
export const CONTROL_VERSION = "chatz-control/1";

/** The control socket's folder inside the data folder (mode 0700) and the socket in it (mode 0600). */
export function controlSocketPath(dataDir: string): string {
  return join(dataDir, "control", "chatz.sock");
}

/**
 * The longest Unix socket path Linux takes: `sun_path` holds 108 bytes, the last a NUL. A longer
 * control socket path cannot be bound or dialled.
 */
export const MAX_SOCKET_PATH_BYTES = 107;

/**
 * Why the control socket of a data folder cannot be used, or undefined when it can.
 *
 * @example
 * ```ts
 * import { controlSocketProblem } from "./control.ts";
 * controlSocketProblem("/var/lib/chatz"); // undefined
 * ```
 */
export function controlSocketProblem(dataDir: string): string | undefined {
  const path = controlSocketPath(dataDir);
  const bytes = new TextEncoder().encode(path).length;
  if (bytes <= MAX_SOCKET_PATH_BYTES) return undefined;
  return `the control socket "${path}" would be ${bytes} bytes long, over the ${MAX_SOCKET_PATH_BYTES} a Unix socket path may have; use a shorter --data path`;
}

/** An operator command line, for example `kick bob spamming`. */
export interface ControlRequest {
  id: number;
  line: string;
  /** Confirms a command that asks first (`clear-logs`, `clear-identities`). */
  yes?: boolean;
  /** The password a command asks for (`user add`, `user passwd`), read by `chatz admin`. */
  secret?: string;
}

/** The answer to a control request. */
export type ControlReply =
  | { re: number; ok: true; text: string; data?: unknown }
  | { re: number; ok: false; code: ErrorCode; message: string };
