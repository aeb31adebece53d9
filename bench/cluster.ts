// Scenario K: two chatz nodes on this machine sharing a throwaway PostgreSQL and nats-server:
// 1:1 relay across nodes, group fan-out across nodes, and how long a client takes to fail over.

import { connect, type Connection, type ConnectionStatus } from "../client/connection.ts";
import type { MessageEvent, ServerEvent } from "../protocol/mod.ts";
import { startNats, startPostgres } from "../tests/services.ts";
import { type Bench, removeDir, type Run, tempDir } from "./context.ts";
import { startChatz, type Target } from "./procs.ts";
import { CURVE_KEY_FILE } from "../server/main_thread/curve_keys.ts";
import { percentiles } from "./stats.ts";

/** Messages of the relay and the fan-out parts: a full run and a quick one. */
const RELAY_MESSAGES = { full: 20_000, quick: 500 };
const FANOUT_MESSAGES = { full: 2_000, quick: 50 };
/** Members of the group receiving the fan-out, half on each node (the sender is on the first). */
const MEMBERS = 20;
/** Sends in flight at once: a client pipelines, the server batches a turn's commits. */
const WINDOW = 256;
/** Deadlines of the setup and of each part's deliveries on a loaded machine. */
const SETUP_MS = 60_000;
const DELIVERY_MS = 120_000;

/**
 * Scenario K, one run: relay and fan-out rates across two nodes, then the failover time, in the
 * bench's current encryption (both nodes on one CURVE key, or both `--no-curve`).
 */
export async function clusterRun(bench: Bench): Promise<Run> {
  const size = bench.plan.quick ? "quick" : "full";
  await using pg = await startPostgres();
  await using nats = await startNats();
  const store = await pg.createDatabase("bench");
  const dirs = [
    await tempDir(bench, "chatz-bench-node-"),
    await tempDir(bench, "chatz-bench-node-"),
  ];
  const nodes: Target[] = [];
  const conns: Connection[] = [];
  try {
    for (const dataDir of dirs) {
      // Every node of a cluster serves one CURVE key (README, "Running a cluster"): the first
      // makes it, the others start with a copy, so a client that moves meets the key it trusts.
      if (nodes.length > 0 && bench.encryption === "curve") {
        await Deno.copyFile(`${dirs[0]}/${CURVE_KEY_FILE}`, `${dataDir}/${CURVE_KEY_FILE}`);
      }
      nodes.push(
        await startChatz(bench.procs, {
          dataDir,
          bind: "tcp://127.0.0.1:*",
          extraArgs: [...bench.serverArgs, "--store", store, "--bus", nats.url],
          encryption: bench.encryption,
        }),
      );
    }
    const serverKey = nodes[0].serverKey;
    const open: Open = async (login, node, events, onStatus) => {
      const conn = await connect({
        server: nodes.map((n) => n.endpoint).slice(node).concat(
          nodes.map((n) => n.endpoint).slice(0, node),
        ).join(","),
        login,
        password: `pw-${login}`,
        timeoutMs: SETUP_MS,
        reconnect: true,
        onEvent: events,
        onStatus,
        ...(serverKey === undefined ? {} : { curve: { serverKey } }),
      });
      conns.push(conn);
      return conn;
    };
    const relay = await relayPart(bench, open, RELAY_MESSAGES[size]);
    const fanOut = await fanOutPart(bench, open, FANOUT_MESSAGES[size]);
    const failover = await failoverPart(open, nodes[0]);
    return {
      metrics: {
        relayPerSecond: relay.perSecond,
        relayP50Ms: relay.p50,
        relayP99Ms: relay.p99,
        fanOutDeliveriesPerSecond: fanOut.perSecond,
        failoverSeconds: failover,
      },
      problems: [...relay.problems, ...fanOut.problems],
      detail: { relay, fanOut, failoverSeconds: failover, members: MEMBERS, window: WINDOW },
    };
  } finally {
    await Promise.allSettled(conns.map((c) => c.close()));
    await Promise.allSettled(nodes.map((n) => n.child.stop()));
    for (const dir of dirs) await removeDir(bench, dir);
  }
}

/** Logs `login` in on node `node` (the other node next in its list). */
type Open = (
  login: string,
  node: number,
  events?: (e: ServerEvent) => void,
  onStatus?: (status: ConnectionStatus) => void,
) => Promise<Connection>;

/** Sends `count` messages through `send`, at most WINDOW unanswered; returns the send times by id. */
async function stream(count: number, send: (i: number) => Promise<number>) {
  const sentAt = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const at = performance.now();
      sentAt.set(await send(i), at);
    }
  };
  await Promise.all(Array.from({ length: WINDOW }, worker));
  return sentAt;
}

/** Waits until `received` holds `count` items, or the deadline. */
async function delivered(received: () => number, count: number): Promise<boolean> {
  const deadline = Date.now() + DELIVERY_MS;
  while (received() < count && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return received() >= count;
}

/** A sender on node 0 streams direct messages to a receiver on node 1. */
async function relayPart(bench: Bench, open: Open, count: number) {
  const latencies: number[] = [];
  let sentAt = new Map<number, number>();
  const early: { id: number; at: number }[] = [];
  let got = 0;
  await open("krecv", 1, (e) => {
    if (e.type !== "message") return;
    got++;
    const at = performance.now();
    const sent = sentAt.get((e as MessageEvent).id);
    if (sent === undefined) early.push({ id: (e as MessageEvent).id, at });
    else latencies.push(at - sent);
  });
  const sender = await open("ksend", 0);
  const started = performance.now();
  sentAt = await stream(count, async (i) => {
    const reply = await sender.command("msg", `krecv relay ${i}`);
    if (!reply.ok) throw new Error(`Cannot send: ${reply.message}`);
    return (reply.data as { id: number }).id;
  });
  const complete = await delivered(() => got, count);
  const seconds = (performance.now() - started) / 1000;
  for (const { id, at } of early) latencies.push(at - (sentAt.get(id) ?? at));
  const p = percentiles(latencies.map((ms) => ms * 1000));
  bench.log(`K relay: ${count} messages across nodes in ${seconds.toFixed(2)} s`);
  return {
    perSecond: got / seconds,
    p50: p.p50 / 1000,
    p99: p.p99 / 1000,
    problems: complete ? [] : [`relay: ${got} of ${count} delivered`],
  };
}

/** A sender on node 0 says `count` messages in a group of MEMBERS, half of them on node 1. */
async function fanOutPart(bench: Bench, open: Open, count: number) {
  const owner = await open("kowner", 0);
  const created = await owner.command("group", "create kbench");
  if (!created.ok) throw new Error(`Cannot create the group: ${created.message}`);
  let got = 0;
  for (let m = 0; m < MEMBERS; m++) {
    const member = await open(`kmember${m}`, m % 2, (e) => {
      if (e.type === "message" && (e as MessageEvent).scope === "group") got++;
    });
    const joined = await member.command("group", "join kbench");
    if (!joined.ok) throw new Error(`Cannot join the group: ${joined.message}`);
  }
  const started = performance.now();
  await stream(count, async (i) => {
    const reply = await owner.command("g", `kbench fan-out ${i}`);
    if (!reply.ok) throw new Error(`Cannot send: ${reply.message}`);
    return (reply.data as { id: number }).id;
  });
  const complete = await delivered(() => got, count * MEMBERS);
  const seconds = (performance.now() - started) / 1000;
  bench.log(`K fan-out: ${got} deliveries in ${seconds.toFixed(2)} s`);
  return {
    perSecond: got / seconds,
    problems: complete ? [] : [`fan-out: ${got} of ${count * MEMBERS} delivered`],
  };
}

/** Seconds from killing a client's node to the client being logged in on the other node. */
async function failoverPart(open: Open, first: Target): Promise<number> {
  let back: () => void;
  const online = new Promise<void>((resolve) => back = resolve);
  let killedAt = 0;
  await open("kmover", 0, undefined, (status) => {
    if (killedAt > 0 && status.state === "online") back();
  });
  killedAt = performance.now();
  await first.child.stop("SIGKILL");
  await Promise.race([
    online,
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error("no failover in time")), DELIVERY_MS)
    ),
  ]);
  return (performance.now() - killedAt) / 1000;
}
