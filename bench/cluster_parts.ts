// What one PostgreSQL and one NATS server give a chatz node on this machine, part by part: store
// commits (a turn of one message, a turn of 256) against the SQLite store, and NATS relay throughput.
// Run: deno run -A bench/cluster_parts.ts   (it starts and removes its own servers)

import { connect } from "@nats-io/transport-node";
import { openPostgresStore } from "../server/serving/store/postgres.ts";
import { openSqliteStore } from "../server/serving/store/sqlite.ts";
import type { Store, StoredMessage } from "../server/serving/store/store.ts";
import { startNats, startPostgres } from "../tests/services.ts";

/** Turns per measurement; each stores `perTurn` messages and commits. */
const TURNS = 2000;
/** Messages one NATS client publishes to another, about a turn batch's size each. */
const NATS_MESSAGES = 100_000;
const NATS_BYTES = 300;
/** Rounds alternating the two stores, so both meet the same machine load. */
const ROUNDS = 3;

function message(i: number): Omit<StoredMessage, "id"> {
  return { ts: Date.now(), conv: "p", scope: "public", from: "u0", action: false, text: `m ${i}` };
}

/** Messages per second stored in TURNS turns of `perTurn` messages each. */
function storeRate(store: Store, perTurn: number): number {
  const started = performance.now();
  for (let t = 0; t < TURNS; t++) {
    for (let m = 0; m < perTurn; m++) store.addMessage(message(m));
    store.commit();
  }
  return TURNS * perTurn / ((performance.now() - started) / 1000);
}

async function natsRate(url: string): Promise<number> {
  const pub = await connect({ servers: url });
  const sub = await connect({ servers: url });
  try {
    const payload = "x".repeat(NATS_BYTES);
    let got = 0;
    const done = Promise.withResolvers<void>();
    sub.subscribe("bench", {
      callback: () => {
        if (++got === NATS_MESSAGES) done.resolve();
      },
    });
    await sub.flush();
    const started = performance.now();
    for (let i = 0; i < NATS_MESSAGES; i++) pub.publish("bench", payload);
    await done.promise;
    return NATS_MESSAGES / ((performance.now() - started) / 1000);
  } finally {
    await pub.close();
    await sub.close();
  }
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

await using pg = await startPostgres();
await using nats = await startNats();
const dir = await Deno.makeTempDir({ prefix: "chatz-bench-parts-" });
const results: Record<string, number[]> = {};
const record = (key: string, value: number) => (results[key] ??= []).push(value);
try {
  for (let round = 0; round < ROUNDS; round++) {
    const postgres = openPostgresStore(await pg.createDatabase(`parts_${round}`));
    const sqlite = openSqliteStore(`${dir}/${round}`);
    try {
      for (const perTurn of [1, 256]) {
        record(`postgres ${perTurn}/turn`, storeRate(postgres, perTurn));
        record(`sqlite ${perTurn}/turn`, storeRate(sqlite, perTurn));
      }
    } finally {
      postgres.close();
      sqlite.close();
    }
    record("nats relay", await natsRate(nats.url));
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
for (const [key, values] of Object.entries(results)) {
  console.log(
    `${key.padEnd(20)} median ${Math.round(median(values))} msgs/s  [${
      values.map((v) => Math.round(v)).join(", ")
    }]`,
  );
}
