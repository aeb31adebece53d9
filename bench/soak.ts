// The soak run (issue #6): hundreds of clients exchanging direct messages at a steady rate for minutes,
// reporting server memory over time and every lost or repeated message. Bounded; not part of CI.

import { parseArgs } from "node:util";
import { connect, type Connection } from "../client/connection.ts";
import type { MessageEvent, Reply } from "../protocol/mod.ts";
import { rssBytes } from "./proc_stats.ts";
import { policyLimitArgs, ProcessSet, startChatz } from "./procs.ts";

/** How often the server's memory is sampled. */
const SAMPLE_EVERY_MS = 10_000;
/** How long receivers may take to get the last messages after sending stops. */
const DRAIN_DEADLINE_MS = 30_000;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    minutes: { type: "string", default: "3" },
    clients: { type: "string", default: "200" },
    rate: { type: "string", default: "2000" }, // messages per second, all clients together
  },
});
const minutes = Number(values.minutes);
const clientCount = Number(values.clients);
const rate = Number(values.rate);
if (!(minutes > 0 && minutes <= 60 && clientCount >= 2 && clientCount <= 1000 && rate > 0)) {
  console.error("chatz soak: --minutes 0..60, --clients 2..1000 and --rate > 0 are needed");
  Deno.exit(2);
}

const procs = new ProcessSet();
const dataDir = await Deno.makeTempDir({ prefix: "chatz-soak-" });
let exitCode = 0;
try {
  const server = await startChatz(procs, {
    dataDir,
    bind: "tcp://127.0.0.1:*",
    extraArgs: await policyLimitArgs(),
    encryption: "curve",
  });
  const pid = server.child.pid;
  const logins = Array.from({ length: clientCount }, (_, i) => `soak${i}`);
  /** What each login received: message ids, to find losses and repeats. */
  const received = new Map<string, number[]>(logins.map((l) => [l, []]));
  const conns: Connection[] = [];
  for (let i = 0; i < logins.length; i += 50) {
    conns.push(
      ...await Promise.all(
        logins.slice(i, i + 50).map((login) =>
          connect({
            server: server.endpoint,
            login,
            password: `pw-${login}`,
            timeoutMs: 30_000,
            curve: { serverKey: server.serverKey! },
            reconnect: true,
            onEvent: (e) => {
              if (e.type === "message" && !e.history) {
                received.get(login)!.push((e as MessageEvent).id);
              }
            },
          })
        ),
      ),
    );
  }

  const samples: { second: number; rssMiB: number }[] = [];
  const started = performance.now();
  const sample = async () =>
    samples.push({
      second: Math.round((performance.now() - started) / 1000),
      rssMiB: Math.round((await rssBytes(pid)) / 1048576 * 10) / 10,
    });
  await sample();
  const sampler = setInterval(sample, SAMPLE_EVERY_MS);

  /** Acknowledged sends by recipient: every one must arrive exactly once. */
  const expected = new Map<string, number[]>(logins.map((l) => [l, []]));
  const failures: string[] = [];
  const pending: Promise<void>[] = [];
  const end = started + minutes * 60_000;
  const perTick = Math.max(1, Math.round(rate / 100)); // sent every 10 ms
  let sent = 0;
  for (let tick = 0; performance.now() < end && tick < minutes * 6000 + 10; tick++) {
    for (let k = 0; k < perTick; k++) {
      const from = sent % clientCount;
      const to = logins[(from + 1 + (sent % (clientCount - 1))) % clientCount];
      const reply: Promise<Reply> = conns[from].command("msg", `${to} soak ${sent}`);
      pending.push(reply.then((r) => {
        if (r.ok) expected.get(to)!.push((r.data as { id: number }).id);
        else failures.push(`${r.code}: ${r.message}`);
      }));
      sent++;
    }
    if (pending.length > 20_000) await Promise.all(pending.splice(0));
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await Promise.all(pending);
  clearInterval(sampler);

  // Wait until every acknowledged message reached its recipient, or the deadline.
  const drainEnd = performance.now() + DRAIN_DEADLINE_MS;
  const missingIn = () =>
    logins.reduce((n, l) => {
      const got = new Set(received.get(l));
      return n + expected.get(l)!.filter((id) => !got.has(id)).length;
    }, 0);
  while (missingIn() > 0 && performance.now() < drainEnd) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await sample();

  let lost = 0;
  let repeated = 0;
  for (const login of logins) {
    const got = received.get(login)!;
    const counts = new Map<number, number>();
    for (const id of got) counts.set(id, (counts.get(id) ?? 0) + 1);
    for (const id of expected.get(login)!) if (!counts.has(id)) lost++;
    for (const n of counts.values()) if (n > 1) repeated += n - 1;
  }
  const acked = [...expected.values()].reduce((n, l) => n + l.length, 0);
  await Promise.all(conns.map((c) => c.close({ logout: true })));
  await server.child.stop();

  const result = {
    minutes,
    clients: clientCount,
    offeredPerSecond: rate,
    sent,
    acknowledged: acked,
    refused: failures.length,
    lost,
    repeated,
    memory: samples,
  };
  console.log(
    `soak: ${minutes} min, ${clientCount} clients, ${rate} msgs/s offered: sent ${sent}, ` +
      `acknowledged ${acked}, refused ${failures.length}, lost ${lost}, repeated ${repeated}`,
  );
  console.log(
    `server RSS (MiB) by second: ${samples.map((s) => `${s.second}s ${s.rssMiB}`).join(", ")}`,
  );
  if (failures.length > 0) console.log(`first refusals: ${failures.slice(0, 3).join("; ")}`);
  await Deno.mkdir("bench/results", { recursive: true });
  const file = `bench/results/soak-${new Date().toISOString().replaceAll(":", "-")}.json`;
  await Deno.writeTextFile(file, JSON.stringify(result, null, 2));
  console.log(`results: ${file}`);
  if (lost > 0 || repeated > 0 || failures.length > 0) exitCode = 1;
} finally {
  await procs.killAll();
  await Deno.remove(dataDir, { recursive: true });
}
Deno.exit(exitCode);
