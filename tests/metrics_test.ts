// End-to-end test of `chatz serve --metrics-bind`: Prometheus text scraped over HTTP while real
// clients chat, with the counters checked to move.

import assert from "node:assert/strict";
import {
  client,
  loginError,
  replyData,
  startServerProcess,
  type TestClient,
  WAIT_MS,
} from "./harness.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** Scrapes the endpoint and returns its samples by series (`name{labels}` → value). */
async function scrape(url: string): Promise<Map<string, number>> {
  const response = await fetch(url, { signal: AbortSignal.timeout(WAIT_MS) });
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    assert.ok(match, `a sample line in the text format: ${line}`);
    samples.set(match[1], Number(match[2]));
  }
  return samples;
}

Deno.test(
  "chatz serve --metrics-bind serves Prometheus counters that move with traffic",
  opts,
  async () => {
    const server = await startServerProcess({ args: ["--metrics-bind", "127.0.0.1:0"] });
    const clients: TestClient[] = [];
    try {
      const line = await server.stdout.waitFor((l) => l.startsWith("metrics: "), "the metrics URL");
      const url = line.slice("metrics: ".length);
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const before = await scrape(url);
      assert.equal(before.get("chatz_sessions"), 0);
      assert.equal(before.get("chatz_logins_total"), 0);

      const alice = await client(server.endpoint, "alice");
      const bob = await client(server.endpoint, "bob");
      clients.push(alice, bob);
      // Traffic runs while the endpoint is scraped: sends and scrapes interleave.
      const during: Promise<Map<string, number>>[] = [];
      replyData(await alice.cmd("group", "create ops"));
      replyData(await bob.cmd("group", "join ops"));
      for (let i = 0; i < 5; i++) {
        replyData(await alice.cmd("say", `public ${i}`));
        during.push(scrape(url));
        replyData(await alice.cmd("msg", `bob direct ${i}`));
        replyData(await bob.cmd("g", `ops group ${i}`));
      }
      await Promise.all(during);
      assert.equal(await loginError(server.endpoint, "alice", "wrong"), "wrong_password");
      await bob.events.waitFor(
        (e) => e.type === "message" && e.scope === "public" && e.text === "public 4",
        "bob's last public message",
      );

      const after = await scrape(url);
      const moved = (series: string, atLeast: number) => {
        const grown = (after.get(series) ?? 0) - (before.get(series) ?? 0);
        assert.ok(grown >= atLeast, `${series} grew by ${grown}, expected at least ${atLeast}`);
      };
      assert.equal(after.get("chatz_sessions"), 2);
      assert.equal(after.get("chatz_users_online"), 2);
      moved("chatz_logins_total", 2);
      moved('chatz_login_failures_total{reason="wrong_password"}', 1);
      moved('chatz_messages_stored_total{scope="public"}', 5);
      moved('chatz_messages_stored_total{scope="direct"}', 5);
      moved('chatz_messages_stored_total{scope="group"}', 5);
      moved('chatz_messages_delivered_total{scope="public"}', 5);
      moved('chatz_messages_delivered_total{scope="direct"}', 5);
      moved('chatz_messages_delivered_total{scope="group"}', 5);
      moved("chatz_deliveries_queued_total", 15);
      moved("chatz_frames_in_total", 17);
      moved("chatz_frames_out_total", 17);
      moved("chatz_bytes_in_total", 17 * 20);
      moved("chatz_bytes_out_total", 17 * 20);
      moved("chatz_commit_seconds_count", 15);
      assert.ok((after.get("chatz_store_bytes") ?? 0) > 0, "the store has a size");
      assert.ok(after.has("chatz_event_loop_lag_seconds"));
      assert.equal(after.get("chatz_plugin_failures_total"), 0);
      assert.equal(after.get("chatz_idle_connections_closed_total"), 0);
      assert.equal(after.get("chatz_login_deadline_closed_total"), 0);
      assert.equal(after.get("chatz_lagging_sessions"), 0);

      const missing = await fetch(url.replace("/metrics", "/other"));
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
    } finally {
      for (const c of clients) await c.close().catch(() => {});
      await server.stop();
    }
  },
);

Deno.test("chatz serve refuses a --metrics-bind that is not HOST:PORT", opts, async () => {
  const failed = startServerProcess({ args: ["--metrics-bind", "localhost"] });
  await assert.rejects(failed, /Cannot serve metrics on "localhost": give HOST:PORT/);
});
