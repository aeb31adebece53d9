// What every scenario of `deno task bench` shares: the plan, the child processes, temp folders, the
// accounts template, the shape of a run's result, and helpers to start and stop a run's processes.

import { join } from "node:path";
import type { Dialect, PeerReport } from "./load_protocol.ts";
import {
  type Encryption,
  type LoadProcess,
  type Pinning,
  type ProcessSet,
  startBaseline,
  startChatz,
  startLoad,
  type Target,
} from "./procs.ts";

/** How long and how big each scenario is: the full benchmark or `--quick`. */
export interface Plan {
  quick: boolean;
  runs: number;
  warmupMs: number;
  durationMs: number;
  /** D: offered rate and how long latency is measured. */
  latencyRate: number;
  latencyMs: number;
  /** S: how long the sustained relay is measured (at least 2,000,000 messages on a full run). */
  sustainedMs: number;
  /** E and F: logged-in clients. */
  clients: number;
  /** I: clients logging in with a password (each login is one scrypt hash). */
  passwordClients: number;
  /** H: accounts registered, then logged in again, with a password. */
  hashAccounts: number;
  /** E: how long the sessions stay idle before memory is read. */
  idleHoldMs: number;
  /** G: stored messages and timed round trips. */
  historyMessages: number;
  historyRequests: number;
}

export const FULL_PLAN: Plan = {
  quick: false,
  runs: 3,
  warmupMs: 1000,
  durationMs: 5000,
  latencyRate: 5000,
  latencyMs: 10_000,
  sustainedMs: 20_000,
  clients: 2000,
  passwordClients: 500,
  hashAccounts: 1000,
  idleHoldMs: 5000,
  historyMessages: 1_000_000,
  historyRequests: 1000,
};

export const QUICK_PLAN: Plan = {
  quick: true,
  runs: 1,
  warmupMs: 300,
  durationMs: 1000,
  latencyRate: 5000,
  latencyMs: 1000,
  sustainedMs: 1000,
  clients: 200,
  passwordClients: 50,
  hashAccounts: 50,
  idleHoldMs: 500,
  historyMessages: 20_000,
  historyRequests: 200,
};

/** Accounts registered once through the real server, copied into each run's fresh data folder. */
export interface Template {
  dir: string;
  tokens: Map<string, string>;
  accounts: number;
  /** Wall time of the registration logins (scrypt-bound), unpinned. */
  seconds: number;
}

/** One run of one scenario against one target. */
export interface Run {
  /** The run's figures, for example `{ msgsPerSecond }` or `{ p50, p99, max }`. */
  metrics: Record<string, number>;
  /** Correctness problems (count mismatches, refusals, timeouts); empty when the run was clean. */
  problems: string[];
  /** Doubts about the figure, not about correctness: for example window edges taken late. */
  warnings?: string[];
  /** Everything else worth keeping in the JSON file. */
  detail: Record<string, unknown>;
}

/** A scenario's runs against chatz in both encryption modes and, for A–E, the baseline. */
export interface ScenarioResult {
  id: string;
  title: string;
  /** chatz as it runs by default: encrypted with CURVE. */
  chatz: Run[];
  /** chatz with `--no-curve`, to show what encryption costs. */
  plaintext: Run[];
  baseline: Run[];
  /** Set when the scenario could not finish. */
  error?: string;
  detail: Record<string, unknown>;
}

/** The benchmark's shared state. */
export interface Bench {
  plan: Plan;
  procs: ProcessSet;
  pinning: Pinning;
  template?: Template;
  /** Extra `chatz serve` arguments: the policy limits switched off (see procs.ts). */
  serverArgs: string[];
  /** The encryption of the chatz servers the runs being made start; run.ts sets it per side. */
  encryption: Encryption;
  /** Temp folders to remove at the end (and as soon as a run is done with them). */
  tempDirs: Set<string>;
  log(line: string): void;
  /** Progress details, printed with `--verbose`. */
  debug(line: string): void;
}

/** The login of simulated client `i`. */
export const login = (i: number): string => `u${i}`;
/** The password every benchmark account registers with. */
export const PASSWORD = "bench-password";

/** A fresh temp folder, removed at the end at the latest. */
export async function tempDir(bench: Bench, prefix: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix });
  bench.tempDirs.add(dir);
  return dir;
}

/** Removes a temp folder now. */
export async function removeDir(bench: Bench, dir: string): Promise<void> {
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  bench.tempDirs.delete(dir);
}

/** A new data folder holding a copy of the template's database (accounts and tokens). */
export async function templateCopy(bench: Bench): Promise<string> {
  if (!bench.template) throw new Error("Cannot copy the accounts template: it was not built");
  const dir = await tempDir(bench, "chatz-bench-run-");
  for await (const entry of Deno.readDir(bench.template.dir)) {
    if (entry.isFile && entry.name.startsWith("chatz.db")) {
      await Deno.copyFile(join(bench.template.dir, entry.name), join(dir, entry.name));
    }
  }
  return dir;
}

/** The resume token of an account of the template. */
export function tokenOf(bench: Bench, name: string): string {
  const token = bench.template?.tokens.get(name);
  if (!token) throw new Error(`Cannot resume "${name}": the template has no token for it`);
  return token;
}

/** Runs `fn` against a fresh target (chatz on a template copy, or the baseline), then stops it. */
export async function withTarget<T>(
  bench: Bench,
  dialect: Dialect,
  fn: (target: Target, dataDir?: string) => Promise<T>,
): Promise<T> {
  const core = bench.pinning.server;
  if (dialect === "baseline") {
    const target = await startBaseline(bench.procs, { core });
    bench.debug(`baseline listening on ${target.endpoint}`);
    try {
      return await fn(target);
    } finally {
      await target.child.stop();
      bench.debug("baseline stopped");
    }
  }
  const dataDir = await templateCopy(bench);
  try {
    const target = await startChatz(bench.procs, {
      dataDir,
      bind: "tcp://127.0.0.1:*",
      core,
      extraArgs: bench.serverArgs,
      encryption: bench.encryption,
    });
    bench.debug(`chatz (${bench.encryption}) listening on ${target.endpoint}`);
    try {
      return await fn(target, dataDir);
    } finally {
      await target.child.stop();
      bench.debug("chatz stopped");
    }
  } finally {
    await removeDir(bench, dataDir);
  }
}

/** Runs `fn` with `count` load processes, closing them after. */
export async function withLoads<T>(
  bench: Bench,
  count: number,
  fn: (loads: LoadProcess[]) => Promise<T>,
  options: { pinned: boolean } = { pinned: true },
): Promise<T> {
  const core = options.pinned ? bench.pinning.load : undefined;
  const loads = Array.from({ length: count }, () => startLoad(bench.procs, { core }));
  try {
    return await fn(loads);
  } finally {
    await Promise.all(loads.map((load) => load.close()));
    bench.debug(`${count} load processes closed`);
  }
}

/** Sends one command to several load processes at once and joins their reports. */
export async function callAll(
  loads: LoadProcess[],
  command: Parameters<LoadProcess["call"]>[0],
  timeoutMs: number,
): Promise<PeerReport[]> {
  const answers = await Promise.all(loads.map((load) => load.call(command, timeoutMs)));
  return answers.flat();
}

/** The errors peers reported, prefixed with their names, at most `limit`. */
export function peerErrors(reports: PeerReport[], limit = 5): string[] {
  return reports.flatMap((r) => r.errors.map((e) => `${r.name}: ${e}`)).slice(0, limit);
}
