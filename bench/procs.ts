// The benchmark's child processes: the chatz server, the baseline router and the load generators,
// each optionally pinned to one core. Every child is tracked so that a failure can kill them all.

import { monotonicNs } from "./clock.ts";
import { readLines } from "../transport/lines.ts";
import { fileURLToPath } from "node:url";
import type { LoadAnswer, LoadCommand, PeerReport } from "./load_protocol.ts";

/** The project root, so the benchmark runs from any working directory. */
export const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** The permissions of the `chatz` task: children run the way users run chatz. */
const PERMISSIONS = [
  "--allow-ffi",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys",
  "--allow-net",
];
/** Lines of a child's stderr kept for error messages. */
const KEPT_LINES = 200;
/** How long a target may take from spawn to its "listening" line. */
const LISTEN_TIMEOUT_MS = 30_000;
/** How long a stopped process may take to exit before it is killed. */
const EXIT_TIMEOUT_MS = 20_000;

/** Lines of a child's output, with the moment each arrived. */
export class Lines {
  readonly items: string[] = [];
  /** How many `WARN` and `ERROR` lines of each event a chatz log had (`time LEVEL event …`). */
  readonly problems = new Map<string, number>();
  #listeners: ((line: string, atNs: bigint) => void)[] = [];

  push(line: string): void {
    const atNs = monotonicNs();
    const logged = /^\S+ (WARN|ERROR) (\S+)/.exec(line);
    if (logged) {
      const key = `${logged[1]} ${logged[2]}`;
      this.problems.set(key, (this.problems.get(key) ?? 0) + 1);
    }
    this.items.push(line);
    if (this.items.length > KEPT_LINES) this.items.shift();
    for (const listener of [...this.#listeners]) listener(line, atNs);
  }

  /** Resolves with the first line (from now on) that matches, and when it arrived. */
  next(
    matches: (line: string) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<{ line: string; atNs: bigint }> {
    return new Promise((resolve, reject) => {
      const listener = (line: string, atNs: bigint) => {
        if (!matches(line)) return;
        done();
        resolve({ line, atNs });
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.#listeners = this.#listeners.filter((l) => l !== listener);
      };
      this.#listeners.push(listener);
    });
  }
}

async function pump(stream: ReadableStream<Uint8Array>, into: Lines): Promise<void> {
  for await (const line of readLines(stream)) into.push(line);
}

/** A running child process. */
export interface Child {
  readonly pid: number;
  readonly name: string;
  readonly stdout: Lines;
  readonly stderr: Lines;
  readonly status: Promise<Deno.CommandStatus>;
  readonly stdin?: WritableStreamDefaultWriter<Uint8Array>;
  /** Sends a signal, waits for the exit (killing it after a deadline) and for its output to end. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

/** Which core each side runs on; undefined runs unpinned. */
export interface Pinning {
  server?: number;
  load?: number;
}

/** Pins to cores 0 and 1 when `taskset` exists and the machine has at least two cores. */
export async function choosePinning(): Promise<Pinning> {
  if (navigator.hardwareConcurrency < 2) return {};
  try {
    const { success } = await new Deno.Command("taskset", {
      args: ["-V"],
      stdout: "null",
      stderr: "null",
    })
      .output();
    return success ? { server: 0, load: 1 } : {};
  } catch {
    return {};
  }
}

/** Every child this benchmark started; `killAll` ends those still running. */
export class ProcessSet {
  readonly #children = new Set<Child>();

  /** Starts `deno run <permissions> <script> <args>` in the project root, on `core` if given. */
  spawn(name: string, script: string[], options: { core?: number; stdin?: boolean }): Child {
    const deno = [Deno.execPath(), "run", ...PERMISSIONS, ...script];
    const [command, ...args] = options.core === undefined
      ? deno
      : ["taskset", "-c", String(options.core), ...deno];
    const process = new Deno.Command(command, {
      args,
      cwd: ROOT,
      stdin: options.stdin ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    const stdout = new Lines();
    const stderr = new Lines();
    const pumps = Promise.all([pump(process.stdout, stdout), pump(process.stderr, stderr)]);
    const stdin = options.stdin ? process.stdin.getWriter() : undefined;
    const children = this.#children;
    const child: Child = {
      pid: process.pid,
      name,
      stdout,
      stderr,
      status: process.status,
      stdin,
      async stop(signal: Deno.Signal = "SIGTERM") {
        try {
          process.kill(signal);
        } catch { /* already gone */ }
        let timer: ReturnType<typeof setTimeout> | undefined;
        const deadline = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, EXIT_TIMEOUT_MS);
        });
        const exited = await Promise.race([
          process.status.then(() => true),
          deadline.then(() => false),
        ]);
        clearTimeout(timer);
        if (!exited) {
          try {
            process.kill("SIGKILL");
          } catch { /* already gone */ }
        }
        await stdin?.close().catch(() => {});
        const status = await process.status;
        await pumps;
        children.delete(child);
        return status;
      },
    };
    this.#children.add(child);
    return child;
  }

  /** Kills every child still running and waits for them. */
  async killAll(): Promise<void> {
    await Promise.all([...this.#children].map((child) => child.stop("SIGKILL")));
  }
}

/** A chatz server or baseline router, listening. */
export interface Target {
  child: Child;
  endpoint: string;
  /** The CURVE public key an encrypting chatz printed; undefined for plaintext and the baseline. */
  serverKey?: string;
  /** When the "listening" line arrived (process.monotonicNs()). */
  listeningNs: bigint;
}

/** Waits for a child's "listening on ENDPOINT" line; a child that exits first fails the wait. */
async function listening(child: Child): Promise<Target> {
  const exited = child.status.then((s) => {
    throw new Error(
      `${child.name} exited with ${s.code} before listening:\n${
        child.stderr.items.slice(-20).join("\n")
      }`,
    );
  });
  try {
    const { line, atNs } = await Promise.race([
      child.stdout.next(
        (l) => l.includes("listening on"),
        LISTEN_TIMEOUT_MS,
        `${child.name} to listen`,
      ),
      exited,
    ]);
    return { child, endpoint: /listening on (\S+)/.exec(line)![1], listeningNs: atNs };
  } catch (error) {
    await child.stop("SIGKILL");
    throw error;
  } finally {
    exited.catch(() => {});
  }
}

/**
 * Policy limits a capacity benchmark must switch off, when this chatz has them: one account
 * streaming 300k messages/s is far past a per-account flood limit, and 2,000 clients of one
 * address past the per-address limits on new and on open connections. Each is an existing `serve` option; the JSON
 * file records the arguments used.
 */
const POLICY_LIMITS: [option: string, off: string][] = [
  ["--rate", "0"],
  ["--connects-per-minute", "0"],
  ["--connections-per-address", "0"],
  ["--registrations-per-minute", "0"],
];

/** The `serve` arguments that switch off the policy limits this chatz offers (from its help). */
export async function policyLimitArgs(): Promise<string[]> {
  const help = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMISSIONS, "main.ts", "serve", "--help"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  if (!help.success) {
    throw new Error(`Cannot read "chatz serve --help": ${new TextDecoder().decode(help.stderr)}`);
  }
  const text = new TextDecoder().decode(help.stdout);
  return POLICY_LIMITS.filter(([option]) => new RegExp(`^\\s*${option} `, "m").test(text)).flat();
}

/**
 * How the chatz server under test encrypts: `curve`, its default, or `plaintext` (`--no-curve`).
 * The benchmark measures both, so the cost of encryption is a figure of its own.
 */
export type Encryption = "curve" | "plaintext";

/**
 * Starts `chatz serve` on a data folder and an endpoint, encrypting unless told `plaintext`; an
 * encrypting server serves no key endpoint (`--key-bind none`): the load gets the printed key.
 */
export async function startChatz(
  procs: ProcessSet,
  options: {
    dataDir: string;
    bind: string;
    core?: number;
    extraArgs: string[];
    encryption: Encryption;
  },
): Promise<Target> {
  const args = [
    "main.ts",
    "serve",
    "--bind",
    options.bind,
    "--data",
    options.dataDir,
    "--no-console",
    "--log-level",
    "warn",
    ...(options.encryption === "plaintext" ? ["--no-curve"] : ["--key-bind", "none"]),
    ...options.extraArgs,
  ];
  const target = await listening(procs.spawn("chatz serve", args, { core: options.core }));
  if (options.encryption === "plaintext") return target;
  try {
    const label = "CURVE public key:";
    const { line } = await target.child.stdout.next(
      (l) => l.startsWith(label),
      LISTEN_TIMEOUT_MS,
      "chatz serve to print its CURVE key",
    );
    return { ...target, serverKey: line.slice(label.length).trim() };
  } catch (error) {
    await target.child.stop("SIGKILL");
    throw error;
  }
}

/** Starts the bare forwarding router. */
export function startBaseline(procs: ProcessSet, options: { core?: number }): Promise<Target> {
  const args = ["bench/baseline_router.ts", "tcp://127.0.0.1:*"];
  return listening(procs.spawn("baseline router", args, { core: options.core }));
}

/** A load-generator process, driven one command at a time. */
export interface LoadProcess {
  child: Child;
  /** Sends a command and resolves with every peer's report; rejects on an error or the deadline. */
  call(command: LoadCommand, timeoutMs: number): Promise<PeerReport[]>;
  /** Closes the peers and waits for the process to exit. */
  close(): Promise<void>;
}

/** Starts a load generator (bench/load.ts). */
export function startLoad(procs: ProcessSet, options: { core?: number }): LoadProcess {
  const child = procs.spawn("load generator", ["bench/load.ts"], {
    core: options.core,
    stdin: true,
  });
  const encoder = new TextEncoder();
  let nextId = 1;
  const exited = child.status.then((s) => {
    throw new Error(
      `The load generator exited with ${s.code}:\n${child.stderr.items.slice(-20).join("\n")}`,
    );
  });
  exited.catch(() => {});

  async function call(command: LoadCommand, timeoutMs: number): Promise<PeerReport[]> {
    const id = nextId++;
    const answer = child.stdout.next(
      (line) => line.startsWith(`{"id":${id},`),
      timeoutMs,
      `the load generator to answer "${command.op}"`,
    );
    await child.stdin!.write(encoder.encode(JSON.stringify({ id, command }) + "\n"));
    const { line } = await Promise.race([answer, exited]);
    const parsed = JSON.parse(line) as LoadAnswer;
    if (!parsed.ok) throw new Error(`Load generator failed "${command.op}": ${parsed.error}`);
    return parsed.peers;
  }

  return {
    child,
    call,
    async close() {
      try {
        await call({ op: "close" }, 10_000);
      } catch { /* stopped below either way */ }
      await child.stop("SIGTERM");
    },
  };
}
