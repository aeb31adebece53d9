// Scenarios A–D: message traffic through chatz and through the bare baseline router.
// A run streams (or paces) for a warm-up and a timed window, then checks that every count is exact.

import { monotonicNs } from "./clock.ts";
import {
  type Bench,
  callAll,
  login,
  peerErrors,
  type Run,
  tokenOf,
  withLoads,
  withTarget,
} from "./context.ts";
import type { Dialect, PeerReport, PeerSpec } from "./load_protocol.ts";
import { cpuUse } from "./proc_stats.ts";
import { percentiles } from "./stats.ts";

/** Requests per frame, as issue #5 suggests: far below the server's 512, so no frame is refused. */
const BATCH = 256;
/** A: unacknowledged messages of the one sender: enough to keep the server busy between acks. */
const WINDOW_A = 4096;
/** B: per sender; 50 senders together keep about as much in flight as A's and C's one. */
const WINDOW_B = 1024;
/** C: group messages in flight; each one fans out to 100 members. */
const WINDOW_C = 512;
/** D: only a guard, the pacing rate decides what is sent. */
const WINDOW_D = 4096;
/** B: pairs of the scenario, spread over this many load processes. */
const PAIRS = 50;
const PAIR_PROCESSES = 2;
/** C: receiving members of the group (the sender is its 101st member), over this many processes. */
const GROUP_MEMBERS = 100;
const MEMBER_PROCESSES = 2;
const GROUP = "bench";
/** Slack between the run command and the first send, so every process starts together. */
const START_DELAY_MS = 300;
/** How long sent messages may take to be acknowledged and delivered after the window. */
const SETTLE_MS = 30_000;
/** Window edges later than this make a run suspect (its figure is over another span). */
const LATE_WINDOW_MS = 100;
/** Deadline of token logins and setup commands of a traffic run. */
const SETUP_TIMEOUT_MS = 60_000;

/** The load processes of a run: each a list of peers, set up phase by phase. */
interface Layout {
  processes: { phase: number; peers: PeerSpec[] }[];
  window: number;
  rate?: number;
  measureMs: number;
  /** Deliveries per message sent: the members of a group, else 1. */
  fanOut: number;
}

/** Credentials and wiring of a peer for one dialect. */
function peer(bench: Bench, dialect: Dialect, spec: PeerSpec): PeerSpec {
  if (dialect === "baseline") return { ...spec, commands: undefined };
  return { ...spec, token: tokenOf(bench, spec.name) };
}

function pairLayout(
  bench: Bench,
  dialect: Dialect,
  pacing: boolean,
  sustained?: { cid: boolean },
): Layout {
  const [from, to] = [login(0), login(1)];
  return {
    processes: [
      {
        phase: 0,
        peers: [peer(bench, dialect, {
          name: from,
          role: pacing ? "pacer" : "sender",
          target: { kind: "direct", to },
          ...(sustained?.cid ? { cid: true } : {}),
        })],
      },
      {
        phase: 0,
        peers: [peer(bench, dialect, { name: to, role: "receiver", from, latency: pacing })],
      },
    ],
    window: pacing ? WINDOW_D : WINDOW_A,
    rate: pacing ? bench.plan.latencyRate : undefined,
    measureMs: pacing
      ? bench.plan.latencyMs
      : sustained
      ? bench.plan.sustainedMs
      : bench.plan.durationMs,
    fanOut: 1,
  };
}

function pairsLayout(bench: Bench, dialect: Dialect): Layout {
  const processes = Array.from(
    { length: PAIR_PROCESSES },
    () => ({ phase: 0, peers: [] as PeerSpec[] }),
  );
  for (let i = 0; i < PAIRS; i++) {
    const [from, to] = [login(2 * i), login(2 * i + 1)];
    processes[i % PAIR_PROCESSES].peers.push(
      peer(bench, dialect, { name: from, role: "sender", target: { kind: "direct", to } }),
      peer(bench, dialect, { name: to, role: "receiver", from }),
    );
  }
  return { processes, window: WINDOW_B, measureMs: bench.plan.durationMs, fanOut: 1 };
}

function groupLayout(bench: Bench, dialect: Dialect): Layout {
  const sender = login(0);
  const members = Array.from({ length: GROUP_MEMBERS }, (_, i) => login(i + 1));
  const processes = [{
    phase: 0,
    peers: [peer(bench, dialect, {
      name: sender,
      role: "sender",
      target: { kind: "group", group: GROUP, members },
      commands: [{ cmd: "group", args: `create ${GROUP}` }],
    })],
  }];
  for (let p = 0; p < MEMBER_PROCESSES; p++) {
    processes.push({
      phase: 1,
      peers: members.filter((_, i) => i % MEMBER_PROCESSES === p).map((name) =>
        peer(bench, dialect, {
          name,
          role: "receiver",
          from: sender,
          commands: [{ cmd: "group", args: `join ${GROUP}` }],
        })
      ),
    });
  }
  return {
    processes,
    window: WINDOW_C,
    measureMs: bench.plan.durationMs,
    fanOut: GROUP_MEMBERS,
  };
}

/** How many messages each receiver must end up with, from what the senders had acknowledged. */
function expectedCounts(dialect: Dialect, reports: PeerReport[], specs: Map<string, PeerSpec>) {
  const counts: Record<string, number> = {};
  for (const report of reports) {
    const target = specs.get(report.name)?.target;
    if (!target) continue;
    // chatz delivers what it acknowledged; the baseline must deliver everything sent.
    const n = dialect === "chatz" ? report.acked : report.sent;
    for (const to of target.kind === "direct" ? [target.to] : target.members) {
      counts[to] = (counts[to] ?? 0) + n;
    }
    // chatz peers log in with `echo: true`: each stored message also comes back to its sender.
    if (dialect === "chatz") counts[report.name] = (counts[report.name] ?? 0) + n;
  }
  return counts;
}

/** One run: set up, warm up, measure, settle, verify. */
async function trafficRun(bench: Bench, dialect: Dialect, layout: Layout): Promise<Run> {
  return await withTarget(
    bench,
    dialect,
    (target) =>
      withLoads(bench, layout.processes.length, async (loads) => {
        const settings = {
          endpoint: target.endpoint,
          dialect,
          window: layout.window,
          batch: BATCH,
          loginTimeoutMs: SETUP_TIMEOUT_MS,
          serverKey: target.serverKey,
        };
        const phases = [...new Set(layout.processes.map((p) => p.phase))].sort();
        for (const phase of phases) {
          await Promise.all(layout.processes.map((p, i) =>
            p.phase === phase
              ? loads[i].call({ op: "setup", settings, peers: p.peers }, SETUP_TIMEOUT_MS + 10_000)
              : undefined
          ));
        }
        bench.debug("load set up");
        const { plan } = bench;
        const start = monotonicNs() + BigInt(START_DELAY_MS) * 1_000_000n;
        const windowStart = start + BigInt(plan.warmupMs) * 1_000_000n;
        const windowEnd = windowStart + BigInt(layout.measureMs) * 1_000_000n;
        const runMs = START_DELAY_MS + plan.warmupMs + layout.measureMs + SETTLE_MS + 10_000;
        const cpu = cpuUse(
          target.child.pid,
          loads.map((l) =>
            l.child.pid
          ),
          windowStart,
          windowEnd,
        );
        const reports = await callAll(loads, {
          op: "run",
          startNs: String(start),
          windowStartNs: String(windowStart),
          windowEndNs: String(windowEnd),
          rate: layout.rate,
          settleMs: SETTLE_MS,
        }, runMs);
        bench.debug("run done");
        const specs = new Map(
          layout.processes.flatMap((p) => p.peers).map((s) => [s.name, s]),
        );
        const counts = expectedCounts(dialect, reports, specs);
        const final = await callAll(
          loads,
          { op: "expect", counts, timeoutMs: SETTLE_MS },
          SETTLE_MS + 10_000,
        );
        bench.debug("counts checked");
        const run = summarize(dialect, reports, final, counts, layout.fanOut);
        const cores = await cpu;
        run.detail.cpuCores = cores;
        // What one delivered message cost the load core: the load generator must stay far below
        // the target's cost, or it measures itself.
        if (run.metrics.perSecond > 0) {
          run.detail.loadMicrosPerMessage = (cores.load * 1e6) / run.metrics.perSecond;
        }
        run.detail.serverLog = Object.fromEntries(target.child.stderr.problems);
        return run;
      }),
  );
}

function summarize(
  dialect: Dialect,
  reports: PeerReport[],
  final: PeerReport[],
  counts: Record<string, number>,
  fanOut: number,
): Run {
  const problems: string[] = [];
  const senders = reports.filter((r) => r.role === "sender" || r.role === "pacer");
  const receivers = final.filter((r) => r.role === "receiver");
  const sent = senders.reduce((n, r) => n + r.sent, 0);
  const acked = senders.reduce((n, r) => n + r.acked, 0);
  const failed = senders.reduce((n, r) => n + r.failed, 0);
  if (acked + failed !== sent) {
    problems.push(`${sent - acked - failed} of ${sent} sent messages were never acknowledged`);
  }
  if (failed > 0) problems.push(`${failed} sends refused`);
  let received = 0;
  let expected = 0;
  const short: string[] = [];
  for (const r of receivers) {
    received += r.received;
    expected += counts[r.name] ?? 0;
  }
  // Receivers get what was acknowledged; chatz senders also get their echoes (as many).
  for (const r of final.filter((r) => r.name in counts || r.role === "receiver")) {
    if (r.received !== (counts[r.name] ?? 0)) {
      short.push(`${r.name} ${r.received}/${counts[r.name] ?? 0}`);
    }
  }
  if (short.length > 0) {
    problems.push(
      `delivered counts differ from ${dialect === "chatz" ? "acknowledged" : "sent"}: ${
        short.slice(0, 3).join(", ")
      }`,
    );
  }
  problems.push(...peerErrors([...reports, ...final], 3));
  // Each receiver's count over its own measured window; a sum of rates, as windows differ by µs.
  const windowed = reports.filter((r) => r.role === "receiver" && r.window);
  const unmeasured = reports.filter((r) => r.role === "receiver" && !r.window).length;
  if (unmeasured > 0) problems.push(`${unmeasured} receivers never closed their window`);
  // A receiver whose first frame after the window came only after its end had an empty window.
  const rate = windowed.reduce(
    (n, r) => n + (r.window!.ns > 0 ? r.window!.received / (r.window!.ns / 1e9) : 0),
    0,
  );
  const lateMs = Math.max(0, ...reports.map((r) => r.window?.lateMs ?? 0));
  const warnings: string[] = [];
  if (lateMs > LATE_WINDOW_MS) {
    warnings.push(
      `window edges taken up to ${
        Math.round(lateMs)
      } ms late: a load event loop was starved or no message arrived`,
    );
  }
  const offered = senders.reduce(
    (n, r) => n + (r.window ? r.window.sent / (r.window.ns / 1e9) : 0),
    0,
  );
  // What the target took on: sends it acknowledged (chatz) or that were credited (baseline), times
  // the fan-out. Above `rate` when receivers fall behind the server.
  const acknowledged = senders.reduce(
    (n, r) => n + (r.window ? (r.window.acked * fanOut) / (r.window.ns / 1e9) : 0),
    0,
  );
  const metrics: Record<string, number> = { perSecond: rate };
  const samples = reports.flatMap((r) => r.latencyUs ?? []);
  if (samples.length > 0) {
    const p = percentiles(samples);
    Object.assign(metrics, { p50: p.p50, p99: p.p99, max: p.max, samples: p.count });
  }
  return {
    metrics,
    problems,
    warnings,
    detail: {
      sent,
      acked,
      failed,
      received,
      expected,
      offeredPerSecond: offered,
      acknowledgedDeliveriesPerSecond: acknowledged,
      skipped: senders.reduce((n, r) => n + r.skipped, 0),
      windowSeconds: windowed.map((r) => r.window!.ns / 1e9),
      windowReceived: windowed.map((r) => r.window!.received),
      windowLateMs: lateMs,
      byes: final.reduce((n, r) => n + Object.values(r.byes).reduce((a, b) => a + b, 0), 0),
    },
  };
}

/** Scenario A: one sender streaming direct messages to one receiver. */
export const directRelay = (bench: Bench, dialect: Dialect) =>
  trafficRun(bench, dialect, pairLayout(bench, dialect, false));

/** A full run's sustained relay must carry at least this many messages (issue #14). */
const SUSTAINED_MESSAGES = 2_000_000;

/**
 * Scenario S: A's relay, sustained, with a client message id on every message as the bundled
 * client sends (`cid: true`), or without (the comparison, in the baseline column). The server's
 * duplicate suppression remembers every id: this is where a window that slows down shows.
 */
export async function sustainedRelay(bench: Bench, cid: boolean): Promise<Run> {
  const run = await trafficRun(bench, "chatz", pairLayout(bench, "chatz", false, { cid }));
  const sent = run.detail.sent;
  if (!bench.plan.quick && typeof sent === "number" && sent < SUSTAINED_MESSAGES) {
    (run.warnings ??= []).push(
      `${sent} messages through the server, fewer than ${SUSTAINED_MESSAGES}: lengthen sustainedMs`,
    );
  }
  run.metrics.messages = typeof sent === "number" ? sent : 0;
  return run;
}

/** Scenario B: fifty sender → receiver pairs at once. */
export const manyPairs = (bench: Bench, dialect: Dialect) =>
  trafficRun(bench, dialect, pairsLayout(bench, dialect));

/** Scenario C: one sender to a group of a hundred receiving members. */
export const groupFanOut = (bench: Bench, dialect: Dialect) =>
  trafficRun(bench, dialect, groupLayout(bench, dialect));

/** Scenario D: delivery latency of one pair at a fixed offered rate. */
export const latency = (bench: Bench, dialect: Dialect) =>
  trafficRun(bench, dialect, pairLayout(bench, dialect, true));
