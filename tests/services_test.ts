// Tests of the throwaway PostgreSQL and nats-server helpers that the cluster tests stand on.
// Real servers from Debian's packages, reached with the same npm clients chatz uses.

import assert from "node:assert/strict";
import postgres from "postgres";
import { connect } from "@nats-io/transport-node";
import { startNats, startPostgres } from "./services.ts";

Deno.test("startPostgres() serves a fresh database as a non-root user and survives a restart", async () => {
  let root = "";
  {
    await using pg = await startPostgres();
    const url = await pg.createDatabase("services_test");
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const [row] = await sql`SELECT current_user AS who, setting AS dir
        FROM pg_settings WHERE name = 'data_directory'`;
      root = String(row.dir).replace(/\/data$/, "");
      assert.equal(row.who, "chatz");
      await sql`CREATE TABLE kept (n integer)`;
      await sql`INSERT INTO kept VALUES (7)`;
      await sql.end();
      await pg.stop();
      await pg.start();
      const again = postgres(url, { max: 1, onnotice: () => {} });
      const [kept] = await again`SELECT n FROM kept`;
      assert.equal(kept.n, 7);
      await again.end();
    } finally {
      await sql.end();
    }
    const info = await Deno.stat(root);
    if (Deno.uid() === 0) assert.notEqual(info.uid, 0, "the server's folder is not root's");
  }
  await assert.rejects(Deno.stat(root), Deno.errors.NotFound);
});

Deno.test("startNats() relays a message and comes back after a restart on the same port", async () => {
  await using nats = await startNats();
  for (const round of [1, 2]) {
    const nc = await connect({ servers: nats.url });
    try {
      const sub = nc.subscribe("services.test", { max: 1 });
      nc.publish("services.test", `round ${round}`);
      for await (const m of sub) assert.equal(m.string(), `round ${round}`);
    } finally {
      await nc.close();
    }
    if (round === 1) {
      await nats.stop();
      await nats.start();
    }
  }
});
