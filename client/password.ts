// Where the client gets a password or another secret: a file, the environment, or a hidden prompt.
// The hidden prompt reads the terminal in raw mode so nothing typed is echoed or kept.

import { fileErrorReason } from "../protocol/file_errors.ts";

/** A password source that cannot be used; the message names the source, never the secret. */
export class PasswordError extends Error {
  readonly code = "bad_password";
  constructor(message: string) {
    super(message);
    this.name = "PasswordError";
  }
}

/** The user pressed Ctrl-C at a hidden prompt; by convention the process then exits with 130. */
export class PromptAbortedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PromptAbortedError";
  }
}

/** Exit code after an interrupt (128 + SIGINT), what shells expect. */
export const ABORT_EXIT_CODE = 130;

/** Options of `getPassword`. */
export interface PasswordOptions {
  /** Named in the prompt: `Password for bob: `. */
  login: string;
  /** A file whose first line is the password. */
  passwordFile?: string;
  /** Told when the password file can be read by other users (it still is used). */
  warn?: (line: string) => void;
}

/**
 * Gets the password from `--password-file`, else `CHATZ_PASSWORD`, else a hidden prompt when stdin is
 * a terminal; undefined when there is none. Throws `PasswordError` for an unusable file and
 * `PromptAbortedError` when the prompt is interrupted.
 *
 * @example
 * ```ts
 * import { getPassword } from "./password.ts";
 * const password = await getPassword({ login: "bob", passwordFile: "/run/secrets/chatz" });
 * ```
 */
export async function getPassword(options: PasswordOptions): Promise<string | undefined> {
  if (options.passwordFile !== undefined) {
    const password = await readPasswordFile(options.passwordFile);
    const loose = await looseMode(options.passwordFile);
    if (loose !== undefined) {
      options.warn?.(
        `WARNING: password file "${options.passwordFile}" can be read by other users (mode ` +
          `${loose}); make it private: chmod 600 ${options.passwordFile}`,
      );
    }
    return password;
  }
  const fromEnv = Deno.env.get("CHATZ_PASSWORD");
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  if (!Deno.stdin.isTerminal()) return undefined;
  const typed = await promptSecret(`Password for ${options.login}: `);
  if (typed === null) throw new PromptAbortedError("Cannot read password: prompt interrupted");
  return typed;
}

/** The file's mode as octal text when its group or others may read or write it; else undefined. */
async function looseMode(path: string): Promise<string | undefined> {
  try {
    const mode = (await Deno.stat(path)).mode;
    // No mode on Windows; 0o077: any permission for the group or others.
    if (mode === null || (mode & 0o077) === 0) return undefined;
    return (mode & 0o777).toString(8).padStart(4, "0");
  } catch {
    return undefined; // it was just read; a stat that fails has nothing to add
  }
}

/** Reads the first line of a password file, without its line ending. */
export async function readPasswordFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new PasswordError(`Cannot read password file "${path}": ${fileErrorReason(error)}`);
  }
  const first = text.split(/\r?\n/, 1)[0];
  if (first === "") {
    throw new PasswordError(`Cannot read password file "${path}": the first line is empty`);
  }
  return first;
}

/**
 * Asks for a secret on the terminal without echo: the label goes to stderr, keys are read raw.
 * Enter ends, Backspace deletes, Ctrl-U clears; Ctrl-C (or Ctrl-D on an empty answer) returns null.
 * Raw mode is switched off again before returning, whatever happens.
 */
export async function promptSecret(label: string): Promise<string | null> {
  const encoder = new TextEncoder();
  Deno.stderr.writeSync(encoder.encode(label));
  const typed: number[] = [];
  const chunk = new Uint8Array(256);
  Deno.stdin.setRaw(true);
  try {
    while (true) {
      const n = await Deno.stdin.read(chunk);
      if (n === null) return null;
      const result = applyKeys(typed, chunk.subarray(0, n));
      if (result === "abort") return null;
      if (result === "done") return new TextDecoder().decode(new Uint8Array(typed));
    }
  } finally {
    Deno.stdin.setRaw(false);
    Deno.stderr.writeSync(encoder.encode("\n"));
  }
}

const KEY = {
  ctrlC: 0x03,
  ctrlD: 0x04,
  backspace: 0x08,
  lineFeed: 0x0a,
  enter: 0x0d,
  ctrlU: 0x15,
  escape: 0x1b,
  delete: 0x7f,
} as const;

/**
 * Applies raw key bytes to the bytes typed so far: the editing logic of `promptSecret`, apart from
 * the terminal so it can be tested. Escape sequences (arrow keys) are ignored to the end of the chunk.
 */
export function applyKeys(typed: number[], bytes: Uint8Array): "more" | "done" | "abort" {
  for (const byte of bytes) {
    if (byte === KEY.ctrlC) return "abort";
    if (byte === KEY.ctrlD) {
      if (typed.length === 0) return "abort";
      continue;
    }
    if (byte === KEY.enter || byte === KEY.lineFeed) return "done";
    if (byte === KEY.escape) return "more";
    if (byte === KEY.backspace || byte === KEY.delete) {
      // Remove one whole UTF-8 character: its continuation bytes (10xxxxxx), then its lead byte.
      while (typed.length > 0 && (typed[typed.length - 1] & 0xc0) === 0x80) typed.pop();
      typed.pop();
      continue;
    }
    if (byte === KEY.ctrlU) {
      typed.length = 0;
      continue;
    }
    if (byte < 0x20) continue;
    typed.push(byte);
  }
  return "more";
}
