// Scenario G: `/history public 50` round trips against a store seeded with many public messages.
// The folder is seeded once through the store module; each run starts a fresh server on it.

import { type Bench, PASSWORD, peerErrors, type Run, withLoads } from "./context.ts";
import { startChatz } from "./procs.ts";
import { percentiles } from "./stats.ts";

/** The page each round trip asks for. */
const ARGS = "public 50";
const PAGE = 50;
/** Round trips before the timed ones: the first pages warm SQLite's cache and the JIT. */
const WARMUP = 20;
/** Deadline of one round trip. */
const REQUEST_TIMEOUT_MS = 10_000;

/** One run of G on a seeded data folder. */
export async function historyRun(bench: Bench, dataDir: string): Promise<Run> {
  const target = await startChatz(bench.procs, {
    dataDir,
    bind: "tcp://127.0.0.1:*",
    core: bench.pinning.server,
    extraArgs: bench.serverArgs,
    encryption: bench.encryption,
  });
  try {
    return await withLoads(bench, 1, async ([load]) => {
      const settings = {
        endpoint: target.endpoint,
        dialect: "chatz" as const,
        window: 1,
        batch: 1,
        loginTimeoutMs: 30_000,
        serverKey: target.serverKey,
      };
      // The first run registers the reader (one scrypt hash); later runs log in with the password.
      await load.call({
        op: "setup",
        settings,
        peers: [{ name: "reader", role: "history", password: PASSWORD }],
      }, 40_000);
      const count = bench.plan.historyRequests;
      const [report] = await load.call(
        { op: "history", args: ARGS, warmup: WARMUP, count, timeoutMs: REQUEST_TIMEOUT_MS },
        (WARMUP + count) * REQUEST_TIMEOUT_MS,
      );
      const problems = peerErrors([report], 3);
      if (report.received !== PAGE) {
        problems.push(`pages hold ${report.received} messages, not ${PAGE}`);
      }
      const rtts = report.rttUs ?? [];
      if (rtts.length !== count) problems.push(`${rtts.length} of ${count} round trips timed`);
      const p = percentiles(rtts);
      return {
        metrics: { p50: p.p50 / 1000, p99: p.p99 / 1000, max: p.max / 1000 },
        problems,
        detail: { roundTrips: p.count, pageSize: report.received },
      };
    });
  } finally {
    await target.child.stop();
  }
}
