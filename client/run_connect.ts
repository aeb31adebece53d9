// The `chatz connect` command: gets the password, logs in, then runs the terminal UI or scripted mode.
// main.ts only parses the command line and calls runConnect; everything client-side starts here.

import process from "node:process";
import { createInterface } from "node:readline";
import { plural, type ServerEvent } from "../protocol/mod.ts";
import { ChatzError, connect, type Connection, type ConnectionStatus } from "./connection.ts";
import {
  explainUnansweredLogin,
  modeMismatch,
  serverKeyMatches,
  type TrustedKey,
  TrustError,
  trustServerKey,
} from "./curve_trust.ts";
import { type LocalJson, toJsonLine } from "./format.ts";
import { runInteractive } from "./interactive.ts";
import { runFullScreen } from "./tui/run.ts";
import {
  ABORT_EXIT_CODE,
  getPassword,
  PasswordError,
  PromptAbortedError,
  promptSecret,
} from "./password.ts";
import { runScripted } from "./scripted.ts";
import { replaceUnsafe } from "../terminal/sanitize.ts";
import { decideFirstUse, type FirstUsePolicy } from "./trust_prompt.ts";

/** The options of `chatz connect`, as parsed from the command line. */
export interface ConnectCliOptions {
  /** ZeroMQ endpoint of the server, for example `tcp://127.0.0.1:5555`. */
  server: string;
  /** The account to log in as; a new login registers when the server allows it. */
  login: string;
  /** A file whose first line is the password; else `CHATZ_PASSWORD`, else a hidden prompt. */
  passwordFile?: string;
  /** One JSON object per output line; also selects scripted mode on a terminal. */
  json: boolean;
  /** How long to wait for the login reply, and for each outstanding reply when input ends. */
  timeoutMs: number;
  /** Scripted mode: keep printing events this many milliseconds after the last reply. */
  wait: number;
  /**
   * `false` (`--no-color`) turns ANSI colors off. Otherwise human output is colored only when stdout
   * is a terminal and NO_COLOR is unset, so piped output never carries escape sequences.
   */
  color?: boolean;
  /** Line mode on a terminal instead of the full-screen client. */
  plain?: boolean;
  /** Words besides the login that highlight a message in the full-screen client. */
  highlight?: string[];
  /** `false` (`--no-bell`): no terminal bell on mentions and direct messages. */
  bell?: boolean;
  /**
   * Encrypt with CURVE (default true); the key comes from `serverKey`, the known-servers file, or
   * first use. `false` (`--no-curve`) talks in clear, with a warning on stderr.
   */
  curve?: boolean;
  /** The server's CURVE public key, trusted as given. */
  serverKey?: string;
  /** Where to ask for the server's key; default: the server's port + 1. */
  keyEndpoint?: string;
  /** A key met for the first time: accept or refuse; default: ask on a terminal, else refuse. */
  trustOnFirstUse?: FirstUsePolicy;
  /** An operator's invitation code: registers a new login while registration is closed. */
  invite?: string;
}

/** What `chatz connect --no-curve` prints on stderr before it connects. */
export const PLAINTEXT_CLIENT_WARNING =
  "WARNING: connecting WITHOUT encryption (--no-curve): your password and messages travel in " +
  "clear, readable by anyone on the network path";

/**
 * Runs `chatz connect` and resolves with the process exit code: 0 after a normal end, 1 when the
 * login failed or the server ended the session, 130 when the password prompt was interrupted.
 *
 * @example
 * ```ts
 * import { runConnect } from "./run_connect.ts";
 * Deno.exit(
 *   await runConnect({
 *     server: "tcp://127.0.0.1:5555",
 *     login: "bob",
 *     json: false,
 *     timeoutMs: 5000,
 *     wait: 0,
 *   }),
 * );
 * ```
 */
export async function runConnect(options: ConnectCliOptions): Promise<number> {
  const fail = (item: LocalJson & { type: "error" }): number => {
    // The message may come from the server (a refused login): nothing in it steers the terminal.
    console.error(`chatz: ${replaceUnsafe(item.message, "\uFFFD")}`);
    if (options.json) writeLine(toJsonLine(item));
    return 1;
  };
  const failTrust = (error: TrustError): number => {
    for (const line of error.warning) console.error(`chatz: ${line}`);
    return fail({ type: "error", code: error.code, message: error.message });
  };

  const warnings = heldWarnings();

  // Encryption first, as SSH checks the host key before asking for a password.
  const trust = {
    server: options.server,
    serverKey: options.serverKey,
    keyEndpoint: options.keyEndpoint,
    timeoutMs: options.timeoutMs,
  };
  let trusted: TrustedKey | undefined;
  if (options.curve === false) {
    const keyOption = options.serverKey !== undefined ? "--server-key" : "--key-endpoint";
    if (options.serverKey !== undefined || options.keyEndpoint !== undefined) {
      return fail({
        type: "error",
        code: "bad_server_key",
        message: `Cannot use ${keyOption} with --no-curve: it is for encrypted connections; ` +
          `drop one of them`,
      });
    }
    console.error(`chatz: ${PLAINTEXT_CLIENT_WARNING}`);
  } else {
    try {
      trusted = await trustServerKey({
        ...trust,
        warn: (line) => console.error(`chatz: ${line}`),
        firstUse: (key) => decideFirstUse(key, options.trustOnFirstUse),
        onWaiting: (why) => console.error(`chatz: ${waiting(why, options.timeoutMs)}`),
      });
    } catch (error) {
      if (error instanceof TrustError) return failTrust(error);
      throw error;
    }
  }

  /** Read once the server has answered (connect() asks for it then), kept for a second login. */
  let password: string | undefined;
  let passwordRead = false;
  const readPassword = async () => {
    password = await getPassword({
      login: options.login,
      passwordFile: options.passwordFile,
      warn: (line) => console.error(`chatz: ${line}`),
    });
    passwordRead = true;
    return password;
  };

  // A person typing at the prompt confirms a new account before it is created (a mistyped login
  // must not silently register); scripts register as before.
  const typed = options.passwordFile === undefined && !Deno.env.get("CHATZ_PASSWORD") &&
    Deno.stdin.isTerminal() && !options.json;
  const events = createEventFeed();
  let statusHandler: ((status: ConnectionStatus) => void) | undefined;
  let connection: Connection;
  try {
    const open = (register: boolean) =>
      connect({
        server: options.server,
        login: options.login,
        // Asked once the server answered: nobody types a password for a server that is not there.
        ...(passwordRead ? { password } : { getPassword: readPassword }),
        onWaiting: (why) => console.error(`chatz: ${waiting(why, options.timeoutMs)}`),
        keyStillValid: trusted && (() => serverKeyMatches(trusted!, trust)),
        serverChanged: () => serverChangedWarning(trusted, trust, warnings.warn),
        register,
        invite: options.invite,
        timeoutMs: options.timeoutMs,
        clientName: "chatz-cli",
        curve: trusted && { serverKey: trusted.key },
        reconnect: true,
        // Human output shows own messages from the server's events; --json stays as on the wire.
        echo: !options.json,
        onStatus: (status) => {
          events.push(statusNotice(status));
          statusHandler?.(status);
        },
        onEvent: events.push,
        onProtocolError: (error) =>
          events.push({ type: "error", code: error.code, message: error.message }),
      });
    try {
      connection = await open(!typed);
    } catch (error) {
      if (!(error instanceof ChatzError && error.code === "new_account")) throw error;
      const confirmed = await confirmNewAccount(options.login, options.server, password ?? "");
      if (confirmed === "aborted") return ABORT_EXIT_CODE;
      if (confirmed === "differ") {
        return fail({
          type: "error",
          code: "bad_password",
          message: `Cannot register "${options.login}": the passwords differ; nothing was created`,
        });
      }
      connection = await open(true);
    }
  } catch (error) {
    return await connectFailure(error, { server: options.server, trusted, trust, fail, failTrust });
  }

  return await runMode(connection, options, {
    events,
    subscribeStatus: (handler) => statusHandler = handler,
    encrypted: trusted !== undefined,
    warnings,
  });
}

/** What a failed connect reports with: the server, the key trusted, and the two ways to fail. */
interface FailureContext {
  server: string;
  trusted: TrustedKey | undefined;
  trust: Parameters<typeof serverKeyMatches>[1];
  fail(item: LocalJson & { type: "error" }): number;
  failTrust(error: TrustError): number;
}

/** Says why connecting (or logging in) failed and returns the exit code. */
async function connectFailure(error: unknown, ctx: FailureContext): Promise<number> {
  const { server, trusted, trust, fail, failTrust } = ctx;
  if (error instanceof PromptAbortedError) return ABORT_EXIT_CODE;
  if (error instanceof PasswordError) {
    return fail({ type: "error", code: error.code, message: error.message });
  }
  // A CURVE server that hangs up (or an admitted connection left unanswered, should the
  // socket's events have missed that): ask the key endpoint whether the key is the reason.
  // Nothing listening and not admitted name their own cause.
  if (
    error instanceof ChatzError &&
    (error.code === "handshake_failed" || error.dial === "no_answer")
  ) {
    return failTrust(await explainUnansweredLogin(error.message, trusted, trust));
  }
  if (error instanceof ChatzError) {
    return fail({ type: "error", code: error.code, message: error.message });
  }
  const reason = error instanceof Error ? error.message : String(error);
  return fail({
    type: "error",
    code: "unreachable",
    message: `Cannot connect to "${server}": ${reason}`,
  });
}

/** Runs the mode the terminal and the options ask for: full-screen, --plain, or scripted. */
async function runMode(
  connection: Connection,
  options: ConnectCliOptions,
  parts: {
    events: ReturnType<typeof createEventFeed>;
    subscribeStatus: (handler: (status: ConnectionStatus) => void) => void;
    encrypted: boolean;
    warnings: ReturnType<typeof heldWarnings>;
  },
): Promise<number> {
  const { events } = parts;
  const color = options.color !== false && Deno.stdout.isTerminal() &&
    (Deno.env.get("NO_COLOR") ?? "") === "";
  if (Deno.stdin.isTerminal() && Deno.stdout.isTerminal() && !options.json && !options.plain) {
    parts.warnings.hold(); // stderr written now would vanish with the screen
    return await runFullScreen(connection, {
      heldWarnings: parts.warnings.take,
      subscribe: events.subscribe,
      subscribeStatus: parts.subscribeStatus,
      color,
      highlightWords: options.highlight ?? [],
      bell: options.bell !== false,
      server: options.server,
      encrypted: parts.encrypted,
    });
  }
  if (Deno.stdin.isTerminal() && !options.json) {
    return await runInteractive(connection, { subscribe: events.subscribe, color });
  }
  const input = createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
  try {
    return await runScripted(connection, {
      lines: input,
      write: writeLine,
      subscribe: events.subscribe,
      json: options.json,
      waitMs: options.wait,
      timeoutMs: options.timeoutMs,
      color,
    });
  } finally {
    input.close();
  }
}

/**
 * Says that the login is new on this server and asks for the password again: the account is made
 * only when both match. Ctrl-C at the prompt aborts.
 */
async function confirmNewAccount(
  login: string,
  server: string,
  password: string,
): Promise<"confirmed" | "differ" | "aborted"> {
  console.error(`"${login}" is a new account on ${server}; it is created when you confirm.`);
  const again = await promptSecret(`Password for the new account ${login}, again: `);
  if (again === null) return "aborted";
  return again === password ? "confirmed" : "differ";
}

/**
 * While re-dialling: when the server came back in the other mode (CURVE or plaintext), or its key
 * endpoint now reports another key (then with the same WARNING a fresh connect gives), returns the
 * reason to end the session with.
 */
async function serverChangedWarning(
  trusted: TrustedKey | undefined,
  trust: { server: string; serverKey?: string; keyEndpoint?: string; timeoutMs: number },
  warn: (line: string) => void,
) {
  const mismatch = await modeMismatch(trust.server, trusted !== undefined);
  if (mismatch) return { code: "encryption_mismatch" as const, message: mismatch };
  if (!trusted) return undefined;
  const error = await explainUnansweredLogin(
    `Cannot reconnect to "${trust.server}"`,
    trusted,
    trust,
  );
  if (error.code !== "server_key_changed" && error.code !== "wrong_server_key") return undefined;
  for (const line of error.warning) warn(line);
  return { code: error.code, message: error.message };
}

/**
 * Warning lines for stderr during a session: printed at once, or, once `hold()` was called (the
 * full screen owns the terminal and would wipe them), kept until `take()`.
 */
function heldWarnings() {
  let holding = false;
  const held: string[] = [];
  return {
    warn(line: string): void {
      if (holding) held.push(line);
      else console.error(`chatz: ${line}`);
    },
    hold(): void {
      holding = true;
    },
    take(): string[] {
      return held.splice(0);
    },
  };
}

/** What the first dial says while it waits (on stderr: the UI has not started), and how long. */
function waiting(why: "no_listener" | "not_admitted", timeoutMs: number): string {
  const until = `retrying for up to ${Number((timeoutMs / 1000).toFixed(1))} s (--timeout)…`;
  return why === "no_listener"
    ? `Nothing is listening at the server's address yet; ${until}`
    : `Server is not admitting connections; ${until}`;
}

/** A connection status change as a notice line, so both the terminal and scripts see it. */
export function statusNotice(status: ConnectionStatus): ServerEvent {
  // The loss is told once; later attempts say they still try, and why the last one failed.
  const delay = status.state === "reconnecting" && status.delayMs > 0
    ? ` in ${(status.delayMs / 1000).toFixed(1)} s`
    : "";
  const text = status.state === "reconnecting"
    ? status.attempt === 1
      ? `Connection lost (${status.reason}); reconnecting${delay}, attempt 1`
      : `Still reconnecting (${status.reason}); attempt ${status.attempt}${delay}`
    : `Reconnected${
      status.catchup.count > 0
        ? `; ${plural(status.catchup.count, "missed message")} ${
          status.catchup.count === 1 ? "follows" : "follow"
        }${status.catchup.complete ? "" : " (more in /history)"}`
        : ""
    }`;
  return { type: "notice", text, ts: Date.now() };
}

/**
 * Holds the events that arrive before the UI is ready (delayed messages come right after the login
 * reply, often in the same frame), then passes everything straight on.
 */
function createEventFeed() {
  let handler: ((event: ServerEvent) => void) | undefined;
  const early: ServerEvent[] = [];
  return {
    push(event: ServerEvent): void {
      if (handler) handler(event);
      else early.push(event);
    },
    subscribe(next: (event: ServerEvent) => void): void {
      handler = next;
      for (const event of early.splice(0)) next(event);
    },
  };
}

const encoder = new TextEncoder();

/** Writes one line to stdout synchronously, so output order is the order of the calls. */
function writeLine(text: string): void {
  const bytes = encoder.encode(`${text}\n`);
  try {
    let written = 0;
    while (written < bytes.length) written += Deno.stdout.writeSync(bytes.subarray(written));
  } catch (error) {
    // The reader went away (`chatz connect ... | head`): nothing left to tell it.
    if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
  }
}
