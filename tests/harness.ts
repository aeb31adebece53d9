// Test harness for cross-process tests: starts real `chatz serve` processes and real clients on loopback.
// Every wait has a deadline; nothing sleeps for a fixed time.

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readLines } from "../transport/lines.ts";
import { ChatzError, connect, type Connection } from "../client/connection.ts";
import { KNOWN_SERVERS_FILE, lookupKnownServer, rememberServer } from "../client/known_servers.ts";
import { curveClientOptions } from "../transport/curve.ts";
import assert from "node:assert/strict";
import type { Reply, ServerEvent } from "../protocol/mod.ts";

/** The project root, so tests run from any working directory. */
export const ROOT = fileURLToPath(new URL("../", import.meta.url));
const MAIN = ROOT + "main.ts";

/** Permissions of the `chatz` task, so tests run chatz the way users do. */
export const CHATZ_PERMISSIONS = [
  "--allow-ffi",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys",
  "--allow-net",
];

/** Default deadline of one wait. */
export const WAIT_MS = 10_000;

/**
 * Deadline for a resilient client to be back after its server restarted: the client's retry
 * backoff grows to 15 s, and a restart on a loaded machine can fall just after one attempt.
 */
export const RECONNECT_WAIT_MS = 60_000;

/**
 * Longest a child process may take to exit once told to (stdin closed, a signal, or a one-shot CLI
 * command run to its end) before it is killed: a hung child must fail its test, not hang the suite.
 */
export const EXIT_WAIT_MS = 120_000;

/**
 * The child's exit status; a child still running after `ms` is killed with SIGKILL and the status
 * of that (code 137, signal SIGKILL) is returned, so an assertion on the code fails and names it.
 */
export async function exitWithin(
  child: Deno.ChildProcess,
  ms = EXIT_WAIT_MS,
): Promise<Deno.CommandStatus> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => timer = setTimeout(() => resolve("late"), ms));
  try {
    const first = await Promise.race([child.status, late]);
    if (first !== "late") return first;
    try {
      child.kill("SIGKILL");
    } catch { /* it exited meanwhile */ }
    return await child.status;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The client configuration folder of this test process (CHATZ_CONFIG_DIR of every CLI the harness
 * starts), so no test reads or writes the real home folder's known-servers file.
 */
export const TEST_CONFIG_DIR = join(
  Deno.makeTempDirSync({ prefix: "chatz-test-config-" }),
  "chatz",
);

/**
 * The known-servers file in TEST_CONFIG_DIR: every encrypted server the harness starts is written
 * in it, so test clients find its key as a returning user's client would.
 */
export const TEST_KNOWN_SERVERS = join(TEST_CONFIG_DIR, KNOWN_SERVERS_FILE);

/** The CURVE key the harness remembered for a chat endpoint, or undefined for a plaintext one. */
export function testServerKey(endpoint: string): string | undefined {
  return lookupKnownServer(TEST_KNOWN_SERVERS, endpoint);
}

/** `connect()`'s `curve` option for a test server: its remembered key, or none for plaintext. */
export function testCurve(endpoint: string): { serverKey: string } | undefined {
  const serverKey = testServerKey(endpoint);
  return serverKey === undefined ? undefined : { serverKey };
}

/**
 * Socket options for a raw DEALER to a test server: CURVE with the remembered key when the
 * server encrypts, nothing when it serves plaintext.
 */
export function testCurveOptions(endpoint: string): ReturnType<typeof curveClientOptions> | object {
  const key = testServerKey(endpoint);
  return key === undefined ? {} : curveClientOptions(key);
}

/** `promise`, or a rejection naming `what` once `ms` passed first (the promise itself goes on). */
export async function within<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A `t.step` for steps that build on each other: a failed step throws, so the steps after it do not
 * run against state it left broken (and cannot wait on something that will never come).
 */
export function chainedSteps(
  t: Deno.TestContext,
): (name: string, fn: (t: Deno.TestContext) => void | Promise<void>) => Promise<void> {
  return async (name, fn) => {
    if (!(await t.step(name, fn))) {
      throw new Error(`Step "${name}" failed; the later steps need it`);
    }
  };
}

/** Resolves when `predicate` holds for an item pushed later (or already there); rejects at the deadline. */
export class Recorder<T> {
  readonly items: T[] = [];
  #waiters: { predicate: (item: T, index: number) => boolean; resolve: (item: T) => void }[] = [];

  push(item: T): void {
    const index = this.items.push(item) - 1;
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.predicate(item, index)) return true;
      w.resolve(item);
      return false;
    });
  }

  /** Forgets the items so far: later waits see only what is pushed from now on. */
  clear(): void {
    this.items.length = 0;
  }

  /** `predicate` gets each item with its index in `items`, so a wait can skip what came before. */
  waitFor(predicate: (item: T, index: number) => boolean, what: string, ms = WAIT_MS): Promise<T> {
    const found = this.items.find(predicate);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`Timed out after ${ms} ms waiting for ${what}`));
      }, ms);
      const waiter = {
        predicate,
        resolve: (item: T) => {
          clearTimeout(timer);
          resolve(item);
        },
      };
      this.#waiters.push(waiter);
    });
  }
}

/** A `chatz serve` child process. */
export interface ServerProcess {
  endpoint: string;
  dataDir: string;
  /** The CURVE public key it printed; undefined for a plaintext (`--no-curve`) server. */
  key?: string;
  /** The key endpoint it printed, when it serves one. */
  keyEndpoint?: string;
  child: Deno.ChildProcess;
  /** stderr lines (the log) so far. */
  log: Recorder<string>;
  stdout: Recorder<string>;
  /** Sends a signal and waits for the exit status. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
  /** Types a line into the operator console (servers started with `console: true`). */
  type(line: string): Promise<void>;
  /** Settles with the exit status, however the process ends. */
  status: Promise<Deno.CommandStatus>;
}

/** Feeds a stream's lines into a recorder; resolves when the stream ends. */
export async function pumpLines(
  stream: ReadableStream<Uint8Array>,
  into: Recorder<string>,
): Promise<void> {
  for await (const line of readLines(stream)) into.push(line);
}

/** Options of `startServerProcess`. */
export interface ServerProcessOptions {
  dataDir?: string;
  args?: string[];
  env?: Record<string, string>;
  console?: boolean;
  /** Serve without encryption (`--no-curve`); default: encrypted, as `chatz serve` is. */
  plaintext?: boolean;
}

/**
 * Starts `chatz serve` on a free loopback port with a fresh (or given) data folder. It encrypts
 * unless `plaintext` is set (or `args` hold `--no-curve`); its key goes into TEST_KNOWN_SERVERS.
 */
export async function startServerProcess(
  options: ServerProcessOptions = {},
): Promise<ServerProcess> {
  const plaintext = options.plaintext === true || (options.args ?? []).includes("--no-curve");
  const dataDir = options.dataDir ?? await Deno.makeTempDir({ prefix: "chatz-test-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...CHATZ_PERMISSIONS,
      MAIN,
      "serve",
      "--bind",
      "tcp://127.0.0.1:*",
      "--data",
      dataDir,
      options.console ? "--console" : "--no-console",
      // Feature tests send bursts from one address; the limits have their own tests, which pass
      // these options again.
      "--rate",
      "0",
      "--connects-per-minute",
      "0",
      "--connections-per-address",
      "0",
      "--registrations-per-minute",
      "0",
      ...(plaintext && !(options.args ?? []).includes("--no-curve") ? ["--no-curve"] : []),
      ...(options.args ?? []),
    ],
    stdin: options.console ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
    env: options.env,
    cwd: ROOT,
  }).spawn();
  const stdout = new Recorder<string>();
  const log = new Recorder<string>();
  const pumps = Promise.all([pumpLines(child.stdout, stdout), pumpLines(child.stderr, log)]);
  const status = child.status;
  const printed = async (label: string) =>
    (await stdout.waitFor((l) => l.startsWith(label), `"${label}" on stdout`, 20_000))
      .slice(label.length).trim();
  const keyBindNone = (options.args ?? []).join(" ").includes("--key-bind none");
  let line: string;
  let key: string | undefined;
  let keyEndpoint: string | undefined;
  try {
    [line, key, keyEndpoint] = await Promise.race([
      Promise.all([
        stdout.waitFor((l) => l.includes("listening on"), "the server to listen", 20_000),
        plaintext ? undefined : printed("CURVE public key:"),
        plaintext || keyBindNone ? undefined : printed("key endpoint:"),
      ]),
      status.then(async (s): Promise<never> => {
        await pumps; // the reason is on stderr: read it all before telling
        throw new Error(
          `chatz serve exited with ${s.code} before listening:\n${log.items.join("\n")}`,
        );
      }),
    ]);
  } catch (error) {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await status;
    await pumps;
    throw error;
  }
  const endpoint = /listening on (\S+)/.exec(line)![1];
  if (key !== undefined) rememberServer(TEST_KNOWN_SERVERS, endpoint, key);
  const stdin = options.console ? child.stdin.getWriter() : undefined;
  return {
    endpoint,
    dataDir,
    key,
    keyEndpoint,
    child,
    log,
    stdout,
    status,
    async type(text: string) {
      if (!stdin) throw new Error("The server was started without a console");
      await stdin.write(new TextEncoder().encode(text + "\n"));
    },
    async stop(signal: Deno.Signal = "SIGTERM") {
      try {
        child.kill(signal);
      } catch { /* already gone */ }
      await stdin?.close().catch(() => {});
      const result = await exitWithin(child);
      await pumps;
      return result;
    },
  };
}

/** A logged-in test client with its events recorded. */
export interface TestClient {
  conn: Connection;
  events: Recorder<ServerEvent>;
  /** Runs a command and asserts nothing: the reply, ok or not. */
  cmd(cmd: string, args?: string): Promise<Reply>;
  close(): Promise<void>;
}

/**
 * Connects and logs in; the password defaults to one derived from the login. Encrypts with the key
 * in TEST_KNOWN_SERVERS when the harness started the server encrypted.
 */
export async function client(
  endpoint: string,
  login: string,
  password = `pw-${login}`,
): Promise<TestClient> {
  const events = new Recorder<ServerEvent>();
  const conn = await connect({
    server: endpoint,
    login,
    password,
    timeoutMs: WAIT_MS,
    curve: testCurve(endpoint),
    onEvent: (e) => events.push(e),
  });
  return {
    conn,
    events,
    cmd: (c, a = "") => conn.command(c, a),
    close: () => conn.close({ logout: true }),
  };
}

/**
 * Registers `login` and makes it a contact of `of` (a direct message between them), so that `of`
 * hears when it comes online or goes offline; leaves `login` offline and `of`'s events cleared.
 */
export async function makeContact(endpoint: string, of: TestClient, login: string): Promise<void> {
  const other = await client(endpoint, login);
  const reply = await of.cmd("msg", `${login} hello`);
  if (!reply.ok) throw new Error(`Cannot message ${login}: ${reply.message}`);
  await other.close();
  await of.events.waitFor(
    (e) => e.type === "presence" && e.login === login && e.state === "offline",
    `${login}, now a contact, going offline`,
  );
  of.events.clear();
}

/** Tries to log in and returns the error code it failed with, or undefined when it worked. */
export async function loginError(
  endpoint: string,
  login: string,
  password: string,
): Promise<string | undefined> {
  try {
    const c = await client(endpoint, login, password);
    await c.close();
    return undefined;
  } catch (error) {
    if (error instanceof ChatzError) return error.code;
    throw error;
  }
}

/** Runs the real `chatz` CLI with arguments and stdin, and collects its output (killed at EXIT_WAIT_MS). */
export async function runCli(
  args: string[],
  options: { stdin?: string; env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...CHATZ_PERMISSIONS, MAIN, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", CHATZ_CONFIG_DIR: TEST_CONFIG_DIR, ...options.env },
    cwd: ROOT,
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(options.stdin ?? ""));
  await writer.close();
  const [status, stdout, stderr] = await Promise.all([
    exitWithin(child),
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]);
  return { code: status.code, stdout, stderr };
}

/** Parses JSON-lines output. */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
}

/** A long-running `chatz connect` child: type lines into it and read its output as it comes. */
export interface CliProcess {
  stdout: Recorder<string>;
  stderr: Recorder<string>;
  type(line: string): Promise<void>;
  /** Closes stdin and waits for the exit status. */
  end(): Promise<Deno.CommandStatus>;
  /** Sends a signal to the client process (SIGSTOP and SIGCONT to pause and resume it). */
  signal(signal: Deno.Signal): void;
}

/** Starts the real `chatz` CLI with stdin kept open. */
export function spawnCli(args: string[], env: Record<string, string> = {}): CliProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...CHATZ_PERMISSIONS, MAIN, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", CHATZ_CONFIG_DIR: TEST_CONFIG_DIR, ...env },
    cwd: ROOT,
  }).spawn();
  const stdout = new Recorder<string>();
  const stderr = new Recorder<string>();
  const pumps = Promise.all([pumpLines(child.stdout, stdout), pumpLines(child.stderr, stderr)]);
  const stdin = child.stdin.getWriter();
  return {
    stdout,
    stderr,
    type: (line) => stdin.write(new TextEncoder().encode(line + "\n")),
    signal: (signal) => child.kill(signal),
    async end() {
      await stdin.close().catch(() => {});
      const status = await exitWithin(child);
      await pumps;
      return status;
    },
  };
}

/**
 * A process's resident memory in KiB. Read through `ps`, since Deno asks for all permissions
 * to read /proc/PID/status.
 */
export async function rssKiB(pid: number): Promise<number> {
  const out = await new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)] }).output();
  const kib = Number(new TextDecoder().decode(out.stdout).trim());
  if (!out.success || !Number.isFinite(kib) || kib <= 0) {
    throw new Error(`Cannot read the memory of process ${pid}`);
  }
  return kib;
}

/** The data of a successful reply; fails the test with the reply when it is an error. */
export function replyData<T>(reply: Reply): T {
  assert.ok(reply.ok, `expected success, got ${JSON.stringify(reply)}`);
  return reply.data as T;
}

/** The error code of a reply, or undefined when it succeeded. */
export function replyCode(reply: Reply): string | undefined {
  return reply.ok ? undefined : reply.code;
}
