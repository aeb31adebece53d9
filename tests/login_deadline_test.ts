// The login deadline against a real server: connections that keep sending without a logged-in
// session (pings, garbage, a chosen routing id, a session logged out) are closed; sessions stay.

import assert from "node:assert/strict";
import { client, startServerProcess, type TestClient } from "./harness.ts";
import { type RawPeer, rawPeer, request } from "./raw_peer.ts";
import { PROTOCOL_VERSION } from "../protocol/mod.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** The test's login deadline: short, so the test is quick; idle connections are closed after 60 s. */
const DEADLINE_MS = 2000;
/** How often the peers without a session send something: they are never silent. */
const SEND_EVERY_MS = 100;
/** Time for every such connection to be closed: the deadline, the sweeps and a loaded machine. */
const CLOSE_WAIT_MS = 60_000;

Deno.test(
  "connections that never log in are closed at the login deadline however much they send; sessions stay",
  opts,
  async () => {
    const server = await startServerProcess({
      args: ["--login-deadline", String(DEADLINE_MS), "--metrics-bind", "127.0.0.1:0"],
    });
    const peers: RawPeer[] = [];
    const users: TestClient[] = [];
    let sending: ReturnType<typeof setInterval> | undefined;
    const open = (source: string, routingId?: string) => {
      const id = routingId === undefined ? {} : { routingId: new TextEncoder().encode(routingId) };
      const peer = rawPeer(server.endpoint, { source, watchDisconnects: true, ...id });
      peers.push(peer);
      return peer;
    };
    try {
      const alice = await client(server.endpoint, "alice");
      const bob = await client(server.endpoint, "bob");
      users.push(alice, bob);
      const pinger = open("127.0.0.2");
      const garbage = open("127.0.0.3");
      const chosen = open("127.0.0.4", "mallory");
      const quitter = open("127.0.0.5");
      // Each is through the handshake and answered before the clock matters.
      assert.equal((await request(pinger, { op: "ping" })).ok, true);
      assert.equal((await request(chosen, { op: "ping" })).code, "routing_id_refused");
      const login = { op: "login", login: "carol", password: "pw-carol-long" };
      assert.equal((await request(quitter, login)).ok, true);
      assert.equal((await request(quitter, { op: "logout" })).ok, true);
      sending = setInterval(() => {
        for (const peer of [pinger, chosen, quitter]) {
          peer.send([PROTOCOL_VERSION, JSON.stringify([{ op: "ping" }])]);
        }
        garbage.send([PROTOCOL_VERSION, "not json"]);
      }, SEND_EVERY_MS);
      await Promise.all(
        [pinger, garbage, chosen, quitter].map((peer, i) =>
          peer.disconnects.waitFor(() => true, `peer ${i} closed`, CLOSE_WAIT_MS)
        ),
      );
      for (const address of ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"]) {
        await server.log.waitFor(
          (line) => line.includes(`connection_login_deadline address=${address} `),
          `the closure of ${address}'s connection in the log`,
        );
      }
      const metrics = await server.stdout.waitFor((l) => l.startsWith("metrics: "), "metrics URL");
      const text = await (await fetch(metrics.slice("metrics: ".length))).text();
      const counted = text.match(/^chatz_login_deadline_closed_total (\d+)$/m);
      assert.ok(counted && Number(counted[1]) >= 4, `counted ${counted?.[1]}`);

      // The logged-in clients were never closed: each logged in once, and they still chat.
      for (const name of ["alice", "bob"]) {
        const logins = server.log.items.filter((l) => l.includes(` login login=${name} `));
        assert.equal(logins.length, 1, `${name} never logged in again`);
      }
      assert.ok(!server.log.items.some((l) => /connection_\w+ address=127\.0\.0\.1 /.test(l)));
      assert.equal((await alice.cmd("msg", "bob still here")).ok, true);
      await bob.events.waitFor(
        (e) => e.type === "message" && e.text === "still here",
        "alice's message to bob",
      );
    } finally {
      clearInterval(sending);
      await Promise.all([...users.map((u) => u.close()), ...peers.map((p) => p.close())]);
      await server.stop();
    }
  },
);
