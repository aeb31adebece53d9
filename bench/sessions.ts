// Scenarios E (memory per idle session) and F (reconnect storm), and the accounts template:
// accounts registered once through the real server, whose tokens every later run logs in with.

import { monotonicNs } from "./clock.ts";
import {
  type Bench,
  callAll,
  login,
  PASSWORD,
  peerErrors,
  removeDir,
  type Run,
  tempDir,
  type Template,
  templateCopy,
  tokenOf,
  withLoads,
  withTarget,
} from "./context.ts";
import type { Dialect, LoadSettings, PeerReport, PeerSpec } from "./load_protocol.ts";
import { rssBytes } from "./proc_stats.ts";
import type { LoadProcess } from "./procs.ts";
import { startChatz, type Target } from "./procs.ts";

/** Sessions per load process (each spreads them over workers of two dozen sockets). */
const PEERS_PER_PROCESS = 500;
/** Deadline of token logins, for every client of a run. */
const LOGIN_TIMEOUT_MS = 120_000;
/** Registration hashes every password with scrypt (tens of ms each): this much per account. */
const REGISTER_MS_PER_ACCOUNT = 100;
/** Deadline of one registration login. */
const REGISTER_LOGIN_TIMEOUT_MS = 60_000;
/**
 * Password logins in flight while registering. chatz hashes with node:crypto's scrypt on the same
 * 32-thread blocking pool its sockets' poll(2) waits use: before it queued its hashes (four at a
 * time since commit a74192a), hundreds at once stopped it reading its socket for seconds and it
 * timed out live sessions. Sixteen is safe either way.
 */
const REGISTER_CONCURRENCY = 16;
/** I and H: time allowed per password login, one scrypt hash on a machine shared with others. */
const PASSWORD_LOGIN_MS = 400;
/** H: how long the server's memory may take to settle after the logins, and how it is read. */
const SETTLE_LIMIT_MS = 15_000;
const SETTLE_STEP_MS = 1000;
/** H: two readings this close in a row count as settled. */
const SETTLED_BYTES = 1024 * 1024;
/** F: how long every client may take to log in again after the restart. */
const RELOGIN_TIMEOUT_MS = 120_000;

/** Splits peers over as many load processes as their number needs. */
function slices(peers: PeerSpec[]): PeerSpec[][] {
  const parts = Math.max(1, Math.ceil(peers.length / PEERS_PER_PROCESS));
  return Array.from({ length: parts }, (_, k) => peers.filter((_, i) => i % parts === k));
}

async function setupAll(
  loads: LoadProcess[],
  settings: LoadSettings,
  parts: PeerSpec[][],
): Promise<PeerReport[]> {
  const answers = await Promise.all(
    loads.map((load, k) =>
      load.call({ op: "setup", settings, peers: parts[k] }, settings.loginTimeoutMs + 30_000)
    ),
  );
  return answers.flat();
}

function settings(target: Target, dialect: Dialect, loginTimeoutMs: number): LoadSettings {
  return {
    endpoint: target.endpoint,
    dialect,
    window: 1,
    batch: 1,
    loginTimeoutMs,
    serverKey: target.serverKey,
  };
}

/**
 * Registers `accounts` logins with a password through a real, unpinned server (setup, not
 * measured) and keeps the data folder and every login reply's token. A few at a time: a burst of
 * password logins stalls chatz (see REGISTER_CONCURRENCY).
 */
export async function buildTemplate(bench: Bench, accounts: number): Promise<Template> {
  const dir = await tempDir(bench, "chatz-bench-template-");
  const target = await startChatz(bench.procs, {
    dataDir: dir,
    bind: "tcp://127.0.0.1:*",
    extraArgs: bench.serverArgs,
    encryption: "curve",
  });
  try {
    const names = Array.from({ length: accounts }, (_, i) => login(i));
    return await withLoads(bench, 1, async ([load]) => {
      const started = monotonicNs();
      const reports = await load.call({
        op: "register",
        settings: settings(target, "chatz", REGISTER_LOGIN_TIMEOUT_MS),
        names,
        password: PASSWORD,
        concurrency: REGISTER_CONCURRENCY,
      }, accounts * REGISTER_MS_PER_ACCOUNT + 60_000);
      const seconds = Number(monotonicNs() - started) / 1e9;
      const tokens = new Map<string, string>();
      for (const r of reports) if (r.token) tokens.set(r.name, r.token);
      if (tokens.size !== accounts) {
        throw new Error(`Cannot build the accounts template: ${tokens.size} of ${accounts} tokens`);
      }
      return { dir, tokens, accounts, seconds };
    }, { pinned: false });
  } catch (error) {
    await removeDir(bench, dir);
    throw error;
  } finally {
    await target.child.stop();
  }
}

function idlePeers(bench: Bench, dialect: Dialect, passwords = false): PeerSpec[] {
  const count = passwords ? bench.plan.passwordClients : bench.plan.clients;
  return Array.from({ length: count }, (_, i): PeerSpec => {
    const name = login(i);
    if (dialect !== "chatz") return { name, role: "idle" };
    return passwords
      ? { name, role: "idle", password: PASSWORD }
      : { name, role: "idle", token: tokenOf(bench, name) };
  });
}

/** The problems of sessions that ended or logged in the wrong number of times. */
function sessionProblems(reports: PeerReport[], logins: number): string[] {
  const problems: string[] = [];
  const wrong = reports.filter((r) => r.logins !== logins);
  if (wrong.length > 0) {
    problems.push(`${wrong.length} clients logged in ${wrong[0].logins} times, not ${logins}`);
  }
  problems.push(...peerErrors(reports, 3));
  return problems;
}

/**
 * Scenario E: server memory per idle logged-in session (baseline: per idle connection). With
 * `passwords` (scenario I) the sessions log in with their password, as people do, not a token:
 * each login is one scrypt hash on the server's hashing thread.
 */
export function idleMemory(bench: Bench, dialect: Dialect, passwords = false): Promise<Run> {
  return withTarget(bench, dialect, async (target) => {
    const pid = target.child.pid;
    const before = await rssBytes(pid);
    const peers = idlePeers(bench, dialect, passwords);
    const parts = slices(peers);
    const timeoutMs = passwords
      ? LOGIN_TIMEOUT_MS + peers.length * PASSWORD_LOGIN_MS
      : LOGIN_TIMEOUT_MS;
    return await withLoads(bench, parts.length, async (loads) => {
      const started = monotonicNs();
      await setupAll(loads, settings(target, dialect, timeoutMs), parts);
      const loginSeconds = Number(monotonicNs() - started) / 1e9;
      // The scenario's own timed part: sessions sit idle (pinging) before memory is read.
      await new Promise((resolve) => setTimeout(resolve, bench.plan.idleHoldMs));
      const after = await rssBytes(pid);
      const reports = await callAll(
        loads,
        { op: "awaitLogins", logins: 1, timeoutMs: 1000 },
        10_000,
      );
      const n = peers.length;
      return {
        metrics: { kibPerSession: (after - before) / n / 1024 },
        problems: sessionProblems(reports, 1),
        detail: {
          sessions: n,
          rssBefore: before,
          rssAfter: after,
          loginSeconds,
          // Presence goes to contacts, and these accounts share no conversation: none is expected.
          presenceReceived: reports.reduce((sum, r) => sum + r.presence, 0),
        },
      };
    });
  });
}

/**
 * Scenario H: the server's memory after `hashAccounts` password registrations and as many password
 * logins (two scrypt hashes per account), once it settles, less its memory before them. Each
 * registration and login closes its socket, so no session memory is counted.
 */
export function hashMemory(bench: Bench): Promise<Run> {
  return withTarget(bench, "chatz", async (target) => {
    const pid = target.child.pid;
    const before = await rssBytes(pid);
    const names = Array.from({ length: bench.plan.hashAccounts }, (_, i) => `h${i}`);
    return await withLoads(bench, 1, async ([load]) => {
      const started = monotonicNs();
      const problems: string[] = [];
      for (const pass of ["register", "login"]) {
        const reports = await load.call({
          op: "register",
          settings: settings(target, "chatz", REGISTER_LOGIN_TIMEOUT_MS),
          names,
          password: PASSWORD,
          concurrency: REGISTER_CONCURRENCY,
        }, names.length * PASSWORD_LOGIN_MS + 60_000);
        const done = reports.filter((r) => r.token).length;
        if (done !== names.length) problems.push(`${pass}: ${done} of ${names.length} succeeded`);
      }
      const seconds = Number(monotonicNs() - started) / 1e9;
      const readings = [await rssBytes(pid)];
      for (let waited = 0; waited < SETTLE_LIMIT_MS; waited += SETTLE_STEP_MS) {
        await new Promise((resolve) => setTimeout(resolve, SETTLE_STEP_MS));
        readings.push(await rssBytes(pid));
        const [a, b] = readings.slice(-2);
        if (Math.abs(a - b) < SETTLED_BYTES) break;
      }
      const after = readings[readings.length - 1];
      return {
        metrics: { mibGrowth: (after - before) / 1024 / 1024 },
        problems,
        detail: { accounts: names.length, hashes: 2 * names.length, seconds, before, readings },
      };
    }, { pinned: false });
  });
}

/** The port of a `tcp://host:port` endpoint. */
function portOf(endpoint: string): string {
  const match = /:(\d+)$/.exec(endpoint);
  if (!match) throw new Error(`Cannot read the port of "${endpoint}"`);
  return match[1];
}

/**
 * Scenario F: every client logged in, the server restarted on the same folder and port; seconds
 * from the new server's "listening" line until every client has logged in again with its token.
 */
export async function reconnectStorm(bench: Bench): Promise<Run> {
  const dataDir = await templateCopy(bench);
  const core = bench.pinning.server;
  const encryption = bench.encryption;
  let target = await startChatz(bench.procs, {
    dataDir,
    bind: "tcp://127.0.0.1:*",
    core,
    extraArgs: bench.serverArgs,
    encryption,
  });
  try {
    const parts = slices(idlePeers(bench, "chatz"));
    return await withLoads(bench, parts.length, async (loads) => {
      await setupAll(loads, settings(target, "chatz", LOGIN_TIMEOUT_MS), parts);
      const bind = `tcp://127.0.0.1:${portOf(target.endpoint)}`;
      const stopped = monotonicNs();
      const status = await target.child.stop("SIGTERM");
      const exitedNs = monotonicNs();
      // The same data folder: the same key, which the clients already hold.
      target = await startChatz(bench.procs, {
        dataDir,
        bind,
        core,
        extraArgs: bench.serverArgs,
        encryption,
      });
      // chatz does not always say goodbye (see the README): clients that noticed nothing are told.
      await callAll(loads, { op: "restarted" }, 10_000);
      const reports = await callAll(
        loads,
        { op: "awaitLogins", logins: 2, timeoutMs: RELOGIN_TIMEOUT_MS },
        RELOGIN_TIMEOUT_MS + 10_000,
      );
      const problems = sessionProblems(reports, 2);
      if (status.code !== 0) problems.push(`the stopped server exited with ${status.code}`);
      const relogins = reports.filter((r) => r.logins >= 2).map((r) => BigInt(r.lastLoginNs!));
      const early = relogins.filter((ns) => ns < target.listeningNs).length;
      if (early > 0) problems.push(`${early} logins were answered before the new server listened`);
      const last = relogins.reduce((a, b) => (b > a ? b : a), target.listeningNs);
      const first = relogins.reduce((a, b) => (b < a ? b : a), last);
      return {
        metrics: { seconds: Number(last - target.listeningNs) / 1e9 },
        problems,
        detail: {
          clients: reports.length,
          loggedInAgain: relogins.length,
          firstReloginSeconds: Number(first - target.listeningNs) / 1e9,
          stopSeconds: Number(exitedNs - stopped) / 1e9,
          downSeconds: Number(target.listeningNs - exitedNs) / 1e9,
          redials: reports.reduce((n, r) => n + r.redials, 0),
          resentLogins: reports.reduce((n, r) => n + r.resends, 0),
          byes: reports.reduce((n, r) => n + (r.byes.server_shutdown ?? 0), 0),
          dropsWithoutBye: reports.reduce((n, r) => n + r.drops, 0),
          toldOfRestart: reports.reduce((n, r) => n + r.told, 0),
          duplicateLogins: reports.reduce((n, r) => n + r.duplicateLogins, 0),
          presence: reports.reduce((n, r) => n + r.presence, 0),
        },
      };
    });
  } finally {
    await target.child.stop();
    await removeDir(bench, dataDir);
  }
}
