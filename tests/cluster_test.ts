// End-to-end tests of cluster mode: three real `chatz serve` nodes on one throwaway PostgreSQL and
// one throwaway nats-server, real clients on different nodes, chatting as on one server.

import assert from "node:assert/strict";
import type { MessageEvent, ServerEvent } from "../protocol/mod.ts";
import { ChatzError, connect, type ConnectionStatus } from "../client/connection.ts";
import {
  client,
  loginError,
  Recorder,
  replyCode,
  replyData,
  runCli,
  type ServerProcess,
  startServerProcess,
  type TestClient,
  testCurve,
  WAIT_MS,
} from "./harness.ts";
import { startHeldLink, startNats, startPostgres } from "./services.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** Most `list` requests while waiting for the cluster's directory to settle (a heartbeat is 1 s). */
const LIST_POLLS = 100;

/** Sessions one account may have across the cluster in these tests. */
const MAX_SESSIONS = 2;

/**
 * Times two nodes race to log in one account that has one session fewer than its limit: on the
 * heartbeat-counted limit of before, most rounds let both in.
 */
const LOGIN_RACES = 5;

/** Messages each side sends while a node is killed under it. */
const FAILOVER_MESSAGES = 30;

/**
 * Starts `count` nodes on one store and bus, sharing the first node's CURVE key as a cluster's
 * nodes do (a client moving between them trusts one key); resolves once each has heard from all
 * the others.
 */
async function startNodes(
  count: number,
  store: string,
  bus: string,
  /** A bus URL for some nodes, by index (a held link in front of the bus). */
  busOf: Record<number, string> = {},
): Promise<ServerProcess[]> {
  const args = (i: number) => [
    ...["--store", store, "--bus", busOf[i] ?? bus],
    ...["--max-sessions", String(MAX_SESSIONS)],
  ];
  const nodes: ServerProcess[] = [await startServerProcess({ args: args(0) })];
  for (let i = 1; i < count; i++) {
    const dataDir = await Deno.makeTempDir({ prefix: "chatz-test-" });
    await Deno.copyFile(`${nodes[0].dataDir}/curve.key`, `${dataDir}/curve.key`);
    nodes.push(await startServerProcess({ dataDir, args: args(i) }));
  }
  for (const node of nodes) {
    await node.log.waitFor(
      (_line, index) =>
        node.log.items.slice(0, index + 1).filter((l) => l.includes("node_joined")).length >=
          count - 1,
      `a node hearing from the ${count - 1} others`,
      WAIT_MS * 3,
    );
  }
  return nodes;
}

/** Waits until `who`'s online list shows `login` as `online` (or not). */
async function waitOnline(who: TestClient, login: string, online: boolean): Promise<void> {
  for (let i = 0; i < LIST_POLLS; i++) {
    const { users } = replyData<{ users: { login: string }[] }>(await who.cmd("list"));
    if (users.some((u) => u.login === login) === online) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${login} never became ${online ? "online" : "offline"} in the list`);
}

/** A client given every node's endpoint, the first one first, that moves when its node goes. */
async function movingClient(
  nodes: ServerProcess[],
  login: string,
): Promise<TestClient & { status: Recorder<ConnectionStatus> }> {
  const events = new Recorder<ServerEvent>();
  const status = new Recorder<ConnectionStatus>();
  const conn = await connect({
    server: nodes.map((n) => n.endpoint).join(","),
    login,
    password: `pw-${login}`,
    timeoutMs: WAIT_MS,
    reconnect: true,
    curve: testCurve(nodes[0].endpoint), // one key for the whole cluster
    onEvent: (e) => events.push(e),
    onStatus: (s) => status.push(s),
  });
  return {
    conn,
    events,
    status,
    cmd: (c, a = "") => conn.command(c, a),
    close: () => conn.close(),
  };
}

/** A client logged in at `endpoint` with `token`, or the code its login was refused with. */
async function tokenClientOrCode(
  endpoint: string,
  login: string,
  token: string,
): Promise<TestClient | string> {
  try {
    const conn = await connect({
      server: endpoint,
      login,
      token,
      timeoutMs: WAIT_MS,
      curve: testCurve(endpoint),
    });
    return {
      conn,
      events: new Recorder<ServerEvent>(),
      cmd: (c, a = "") => conn.command(c, a),
      close: () => conn.close({ logout: true }),
    };
  } catch (error) {
    if (error instanceof ChatzError) return error.code;
    throw error;
  }
}

function messageWith(text: string) {
  return (e: { type: string }) => e.type === "message" && (e as MessageEvent).text === text;
}

Deno.test(
  "three chatz nodes on one PostgreSQL and one NATS serve users on different nodes as one chat",
  opts,
  async (t) => {
    await using pg = await startPostgres();
    await using nats = await startNats();
    const store = await pg.createDatabase("cluster");
    const nodes = await startNodes(3, store, nats.url);
    const clients: TestClient[] = [];
    /** Gina's session on node 1, with one on node 0: at her limit. */
    let ginaOnNode1: TestClient | undefined;
    try {
      const alice = await client(nodes[0].endpoint, "alice");
      const bob = await client(nodes[1].endpoint, "bob");
      const carol = await client(nodes[2].endpoint, "carol");
      clients.push(alice, bob, carol);

      await t.step("the public room reaches every node", async () => {
        replyData(await alice.cmd("say", "hello from node 0"));
        await bob.events.waitFor(messageWith("hello from node 0"), "bob hearing alice");
        await carol.events.waitFor(messageWith("hello from node 0"), "carol hearing alice");
      });

      await t.step("a direct message crosses nodes live, not kept for later", async () => {
        await waitOnline(alice, "bob", true); // node 0 has heard that bob is on node 1
        const sent = replyData<{ id: number; queued?: boolean }>(
          await alice.cmd("msg", "bob psst"),
        );
        assert.equal(sent.queued, undefined, "bob is online on another node");
        const got = await bob.events.waitFor(messageWith("psst"), "bob's DM") as MessageEvent;
        assert.equal(got.id, sent.id);
        assert.ok(!carol.events.items.some(messageWith("psst")), "only bob");
      });

      await t.step("a group made on one node is joined and used from the others", async () => {
        replyData(await alice.cmd("group", "create ops"));
        await bob.events.waitFor(
          (e) => e.type === "group" && e.action === "create" && e.group === "ops",
          "bob seeing the group appear",
        );
        replyData(await bob.cmd("group", "join ops"));
        replyData(await carol.cmd("group", "join ops"));
        replyData(await bob.cmd("g", "ops deploy at noon"));
        await alice.events.waitFor(messageWith("deploy at noon"), "alice hearing the group");
        await carol.events.waitFor(messageWith("deploy at noon"), "carol hearing the group");
        const { members } = replyData<{ members: string[] }>(
          await alice.cmd("group", "members ops"),
        );
        assert.deepEqual([...members].sort(), ["alice", "bob", "carol"]);
      });

      await t.step("everyone online on any node is listed", async () => {
        await waitOnline(carol, "alice", true);
        await waitOnline(carol, "bob", true);
      });

      await t.step(
        "a message for someone offline everywhere waits for them on any node",
        async () => {
          const dave = await client(nodes[2].endpoint, "dave");
          await waitOnline(alice, "dave", true);
          await dave.close();
          await waitOnline(alice, "dave", false);
          const sent = replyData<{ id: number; queued?: boolean }>(
            await alice.cmd("msg", "dave see you tomorrow"),
          );
          assert.equal(sent.queued, true);
          const back = await client(nodes[1].endpoint, "dave");
          clients.push(back);
          await back.events.waitFor(messageWith("see you tomorrow"), "dave's kept message");
        },
      );

      await t.step("ids grow across nodes, so a cursor means the same on each", async () => {
        const a = replyData<{ id: number }>(await alice.cmd("say", "one"));
        const b = replyData<{ id: number }>(await bob.cmd("say", "two"));
        const c = replyData<{ id: number }>(await carol.cmd("say", "three"));
        assert.ok(a.id < b.id && b.id < c.id, `${a.id} < ${b.id} < ${c.id}`);
      });

      await t.step(
        "two nodes racing to create one group: one gets it, the other group_exists",
        async () => {
          const replies = await Promise.all([
            alice.cmd("group", "create race"),
            bob.cmd("group", "create race"),
          ]);
          assert.deepEqual(replies.map((r) => r.ok).sort(), [false, true]);
          assert.equal(replyCode(replies.find((r) => !r.ok)!), "group_exists");
          const winner = replies[0].ok ? "alice" : "bob";
          // Every other session hears of the new group, its node having read the groups again.
          for (
            const who of [alice, bob, carol].filter((c) => c !== (replies[0].ok ? alice : bob))
          ) {
            await who.events.waitFor(
              (e) => e.type === "group" && e.action === "create" && e.group === "race",
              "the new group announced on every node",
            );
          }
          for (const who of [alice, bob, carol]) {
            const { members } = replyData<{ members: string[] }>(
              await who.cmd("group", "members race"),
            );
            assert.deepEqual(members, [winner]);
          }
        },
      );

      await t.step(
        "an account at its session limit across nodes is refused on a third",
        async () => {
          const first = await client(nodes[0].endpoint, "gina");
          const second = await client(nodes[1].endpoint, "gina");
          clients.push(first, second);
          ginaOnNode1 = second;
          for (let i = 0; i < LIST_POLLS; i++) {
            const { users } = replyData<{ users: { login: string; sessions: number }[] }>(
              await carol.cmd("list"),
            );
            if (users.find((u) => u.login === "gina")?.sessions === MAX_SESSIONS) break;
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
          assert.equal(await loginError(nodes[2].endpoint, "gina", "pw-gina"), "limit_reached");
        },
      );

      await t.step(
        "two nodes racing to log in an account one session below its limit: one gets in, " +
          "the other limit_reached",
        async () => {
          // Tokens to race with: a token login is answered without a password check, so the two
          // logins meet within a millisecond or two. Each session ends with its connection.
          const tokens: string[] = [];
          const ended = (l: string) =>
            l.includes(" logout ") && l.includes("login=rita") && l.includes("disconnected");
          for (let i = 0; i < 2 * LOGIN_RACES; i++) {
            const conn = await connect({
              server: nodes[2].endpoint,
              login: "rita",
              password: "pw-rita",
              timeoutMs: WAIT_MS,
              curve: testCurve(nodes[2].endpoint),
            });
            tokens.push(conn.session.token);
            await conn.close();
            await nodes[2].log.waitFor(
              (_l, index) => nodes[2].log.items.slice(0, index + 1).filter(ended).length > i,
              "rita's session ending with its connection",
            );
          }
          clients.push(await client(nodes[2].endpoint, "rita")); // MAX_SESSIONS - 1 sessions
          const rounds: string[] = [];
          for (let round = 0; round < LOGIN_RACES; round++) {
            const outcomes = await Promise.all(
              [nodes[0], nodes[1]].map((node, i) =>
                tokenClientOrCode(node.endpoint, "rita", tokens[2 * round + i])
              ),
            );
            rounds.push(outcomes.map((o) => typeof o === "string" ? o : "ok").sort().join(" "));
            // A logout is answered once its session's end is committed: the next round starts
            // from MAX_SESSIONS - 1 again.
            for (const o of outcomes) if (typeof o !== "string") await o.close();
          }
          assert.deepEqual(rounds, Array(LOGIN_RACES).fill("limit_reached ok"));
        },
      );

      await t.step(
        "a session that changed its password frees its --max-sessions claim at its logout",
        async () => {
          const paula = await client(nodes[0].endpoint, "paula");
          replyData(await paula.cmd("passwd", "pw-paula pw-new"));
          await paula.conn.close({ logout: true });
          // Both sessions fit on node 1: node 0 holds no claim for paula any more.
          for (let i = 0; i < MAX_SESSIONS; i++) {
            clients.push(await client(nodes[1].endpoint, "paula", "pw-new"));
          }
        },
      );

      await t.step(
        "chatz admin status on a node names it and the other nodes it hears",
        async () => {
          const run = await runCli(["admin", "--data", nodes[1].dataDir, "status"]);
          assert.equal(run.code, 0, run.stderr);
          assert.match(
            run.stdout,
            /cluster +node \w+; 2 other nodes heard: \w+ \(\d+ online\), \w+/,
          );
        },
      );

      await t.step(
        "an operator's kick on one node ends the user's sessions on another",
        async () => {
          const hank = await client(nodes[2].endpoint, "hank");
          clients.push(hank);
          await waitOnline(alice, "hank", true); // node 0 has heard that hank is on node 2
          const run = await runCli(["admin", "--data", nodes[0].dataDir, "kick", "hank", "spam"]);
          assert.equal(run.code, 0, run.stderr);
          assert.match(run.stdout, /Kicked hank \(1 session\)/);
          await hank.events.waitFor(
            (e) => e.type === "bye" && e.code === "kicked",
            "hank's bye from his node",
          );
        },
      );

      await t.step("chatz admin users on one node lists the sessions of every node", async () => {
        await waitOnline(alice, "carol", true); // node 0 has heard from nodes 1 and 2
        await waitOnline(alice, "bob", true);
        const run = await runCli(["admin", "--data", nodes[0].dataDir, "users"]);
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stdout, /^ +alice +since [\d-]+ [\d:]+Z +on (?!node )/m, run.stdout);
        assert.match(run.stdout, /^ +bob +since [\d-]+ [\d:]+Z +on node \w+ +\(1 session\)/m);
        assert.match(run.stdout, /^ +carol +since [\d-]+ [\d:]+Z +on node \w+ +\(1 session\)/m);
      });

      await t.step(
        "pause --all on one node pauses every node; resume --all opens them again",
        async () => {
          const paused = await runCli(["admin", "--data", nodes[0].dataDir, "pause", "--all"]);
          assert.equal(paused.code, 0, paused.stderr);
          assert.match(paused.stdout, /^Paused: .*; asked 2 other nodes to pause too$/m);
          for (const node of nodes.slice(1)) {
            await node.log.waitFor(
              (l) => l.includes("operator_pause") && l.includes("cluster"),
              "another node pausing",
            );
          }
          const status = await runCli(["admin", "--data", nodes[2].dataDir, "status"]);
          assert.match(status.stdout, /PAUSED: new connections are refused/);
          const resumed = await runCli(["admin", "--data", nodes[1].dataDir, "resume", "--all"]);
          assert.equal(resumed.code, 0, resumed.stderr);
          assert.match(resumed.stdout, /^Listening again: .*; asked 2 other nodes to resume too$/m);
          for (const node of [nodes[0], nodes[2]]) {
            await node.log.waitFor(
              (l) => l.includes("operator_resume") && l.includes("cluster"),
              "another node resuming",
            );
          }
          const ivan = await client(nodes[2].endpoint, "ivan");
          clients.push(ivan);
          const bad = await runCli(["admin", "--data", nodes[0].dataDir, "pause", "--everywhere"]);
          assert.notEqual(bad.code, 0);
          assert.match(bad.stderr, /Cannot pause: "--everywhere" is not an option/);
        },
      );

      await t.step(
        "NATS restarted: the nodes reconnect and relay again; what was acknowledged meanwhile arrives",
        async () => {
          const walt = await client(nodes[1].endpoint, "walt"); // bob's node
          clients.push(walt);
          await nats.stop();
          const during = replyData<{ id: number }>(await alice.cmd("say", "while the bus is down"));
          // Node 1 stores a later id meanwhile: it cannot hand it out before alice's lower one,
          // which it reads from the store when the bus does not bring it, bus or no bus.
          const later = replyData<{ id: number }>(
            await bob.cmd("say", "bob while the bus is down"),
          );
          await walt.events.waitFor(
            messageWith("bob while the bus is down"),
            "walt hearing bob before the bus is back",
            WAIT_MS * 3,
          );
          const outage = (e: ServerEvent) =>
            e.type === "message" && e.text.endsWith("while the bus is down");
          assert.deepEqual(
            walt.events.items.filter(outage).map((e) => (e as MessageEvent).id),
            [during.id, later.id],
            "in id order, alice's from the store",
          );
          await nats.start();
          for (const node of nodes) {
            await node.log.waitFor(
              (l) => l.includes("bus_reconnect"),
              "a node back on the bus",
              WAIT_MS * 3,
            );
          }
          // Stored on node 0 while the bus was down: bob (node 1) and carol (node 2) catch up.
          const caught = await bob.events.waitFor(
            messageWith("while the bus is down"),
            "bob catching up with what alice said during the outage",
            WAIT_MS * 3,
          ) as MessageEvent;
          assert.equal(caught.id, during.id);
          await carol.events.waitFor(
            messageWith("while the bus is down"),
            "carol catching up too",
            WAIT_MS * 3,
          );
          replyData(await alice.cmd("say", "the bus is back"));
          await bob.events.waitFor(
            messageWith("the bus is back"),
            "bob hearing alice again",
            WAIT_MS * 3,
          );
          const page = replyData<{ messages: MessageEvent[] }>(
            await bob.cmd("history", "public 50"),
          );
          assert.ok(page.messages.some((m) => m.id === during.id), "stored, and in the history");
          assert.equal(
            bob.events.items.filter(messageWith("while the bus is down")).length,
            1,
            "bob got it once",
          );
        },
      );

      await t.step(
        "PostgreSQL restarted: requests fail with store_unavailable, then work again",
        async () => {
          const renewedBefore = nodes[1].log.items.length;
          await pg.stop();
          const refused = await alice.cmd("say", "nowhere to keep this");
          assert.equal(refused.ok, false);
          assert.equal(replyCode(refused), "store_unavailable");
          // Gina (at her limit) logs out of node 1 meanwhile: the release of her session's claim
          // fails with its turn's commit.
          await ginaOnNode1!.close();
          await pg.start();
          replyData(await alice.cmd("say", "the database is back"));
          await bob.events.waitFor(messageWith("the database is back"), "bob hearing alice");
          // Node 1 makes its claims anew once the database is back: gina has one session left.
          await nodes[1].log.waitFor(
            (l, index) => index >= renewedBefore && l.includes("session_claims_renewed"),
            "node 1 renewing its session claims",
            WAIT_MS * 3,
          );
          clients.push(await client(nodes[2].endpoint, "gina"));
        },
      );

      await t.step(
        "a node killed under traffic: its client moves to another, nothing lost or repeated, " +
          "and is not refused for the session limit the dead node's session filled",
        async () => {
          const erinClient = await movingClient(nodes, "erin");
          clients.push(erinClient);
          // Erin at her limit: her moving session's claim moves with her token.
          clients.push(await client(nodes[2].endpoint, "erin"));
          // Ivy at her limit too, one of her sessions on the node that dies (and dies with it).
          const ivyOnDeadNode = await client(nodes[0].endpoint, "ivy");
          clients.push(await client(nodes[2].endpoint, "ivy"));
          const { conn: erin, events: erinEvents, status: erinStatus } = erinClient;
          const finn = await client(nodes[1].endpoint, "finn");
          clients.push(finn);
          const erinIds: number[] = [];
          const finnIds: number[] = [];
          const killAt = FAILOVER_MESSAGES / 3;
          await Promise.all([
            (async () => {
              for (let i = 1; i <= FAILOVER_MESSAGES; i++) {
                if (i === killAt) await nodes[0].stop("SIGKILL"); // erin's node, mid-stream
                erinIds.push(replyData<{ id: number }>(await erin.command("say", `erin ${i}`)).id);
              }
            })(),
            (async () => {
              for (let i = 1; i <= FAILOVER_MESSAGES; i++) {
                finnIds.push(replyData<{ id: number }>(await finn.cmd("say", `finn ${i}`)).id);
              }
            })(),
          ]);
          const last = (ids: number[]) => ids[ids.length - 1];
          await finn.events.waitFor(
            (e) => e.type === "message" && e.id === last(erinIds),
            "finn hearing erin's last",
            WAIT_MS * 3,
          );
          await erinEvents.waitFor(
            (e) => e.type === "message" && e.id === last(finnIds),
            "erin hearing finn's last after moving",
            WAIT_MS * 3,
          );
          // Node 1 soon takes node 0 as dead and catches its sessions up from the store (what node 0
          // stored but had not relayed when it died): what they already had must not come twice.
          await nodes[1].log.waitFor(
            (l) => l.includes("node_lost_catchup"),
            "node 1 catching up after node 0's death",
            WAIT_MS * 3,
          );
          await nodes[1].log.waitFor(
            (l) => l.includes("session_caught_up") && l.includes("finn"),
            "finn caught up from the store",
            WAIT_MS * 3,
          );
          // The dead node's session no longer counts against ivy's limit once node 1 took it as
          // dead (not only once its last beat in the store is 10 s old).
          await ivyOnDeadNode.conn.close();
          clients.push(await client(nodes[1].endpoint, "ivy"));
          // In id order as they arrived, what node 0 stored but never relayed before it died
          // included: node 1 held its later ids back until it had caught finn up from the store.
          const ids = (events: ServerEvent[]) =>
            events.filter((e): e is MessageEvent =>
              e.type === "message" && /^(erin|finn) \d+$/.test(e.text)
            )
              .map((e) => e.id);
          for (
            const [who, events] of [["finn", finn.events.items], [
              "erin",
              erinEvents.items,
            ]] as const
          ) {
            const got = ids(events);
            assert.deepEqual(got, [...got].sort((a, b) => a - b), `${who}: in id order`);
          }
          // Once each.
          const heard = (events: ServerEvent[], from: string) =>
            events.filter((e): e is MessageEvent => e.type === "message" && e.from === from)
              .map((e) => e.text).filter((text) => /^(erin|finn) \d+$/.test(text))
              .sort((a, b) => Number(a.split(" ")[1]) - Number(b.split(" ")[1]));
          const expected = (who: string) =>
            Array.from({ length: FAILOVER_MESSAGES }, (_, i) => `${who} ${i + 1}`);
          assert.deepEqual(
            heard(finn.events.items, "erin"),
            expected("erin"),
            "finn: erin's, once each",
          );
          assert.deepEqual(
            heard(erinEvents.items, "finn"),
            expected("finn"),
            "erin: finn's, once each",
          );
          assert.deepEqual(heard(erinEvents.items, "erin"), [], "erin's own never replayed to her");
          assert.equal(new Set(erinIds).size, FAILOVER_MESSAGES, "a re-sent command stored once");
          assert.deepEqual(
            erinStatus.items.filter((s) =>
              s.state === "reconnecting" && s.reason.includes("the most allowed")
            ),
            [],
            "erin's move refused for her session limit",
          );
          // She moved because her socket saw the connection drop, not after three silent pings.
          const moved = erinStatus.items.find((s) => s.state === "reconnecting");
          assert.deepEqual(
            moved && moved.state === "reconnecting" && moved.reason,
            "the connection to the server dropped",
          );
        },
      );

      await t.step(
        "clear-identities on one node logs out the users of every node",
        async () => {
          // Node 0 was killed above: the operator acts from node 1; carol is on node 2.
          const run = await runCli([
            "admin",
            "--data",
            nodes[1].dataDir,
            "--yes",
            "clear-identities",
          ]);
          assert.equal(run.code, 0, run.stderr);
          assert.match(run.stdout, /Deleted \d+ accounts/);
          await carol.events.waitFor(
            (e) => e.type === "bye" && e.code === "account_deleted",
            "carol's bye from node 2",
          );
          await bob.events.waitFor(
            (e) => e.type === "bye" && e.code === "account_deleted",
            "bob's bye from node 1",
          );
        },
      );
    } finally {
      for (const c of clients) await c.close().catch(() => {});
      for (const node of nodes) {
        await node.stop();
        await Deno.remove(node.dataDir, { recursive: true }).catch(() => {});
      }
    }
  },
);

Deno.test(
  "two chatz nodes, one's bus link held up: what the bus has not carried yet is neither missed nor reordered",
  opts,
  async (t) => {
    await using pg = await startPostgres();
    await using nats = await startNats();
    await using link = startHeldLink(nats.port);
    const store = await pg.createDatabase("held");
    // Node 1 reaches the bus through the link the test holds up.
    const nodes = await startNodes(2, store, nats.url, { 1: link.url });
    const clients: TestClient[] = [];
    try {
      const alice = await client(nodes[0].endpoint, "alice");
      const bob = await client(nodes[1].endpoint, "bob");
      clients.push(alice, bob);

      await t.step(
        "a group created on one node is usable on another before the bus has told it",
        async () => {
          link.hold();
          try {
            replyData(await alice.cmd("group", "create fast"));
            replyData(await bob.cmd("group", "join fast"));
            const { members } = replyData<{ members: string[] }>(
              await bob.cmd("group", "members fast"),
            );
            assert.deepEqual([...members].sort(), ["alice", "bob"]);
          } finally {
            link.release();
          }
        },
      );

      await t.step(
        "a lower id still on the bus reaches a session before a higher one stored on its node",
        async () => {
          const carl = await client(nodes[0].endpoint, "carl");
          clients.push(carl);
          link.hold();
          let first: number, second: number;
          try {
            first = replyData<{ id: number }>(await bob.cmd("say", "relayed first")).id;
            second = replyData<{ id: number }>(await alice.cmd("say", "stored second")).id;
          } finally {
            link.release();
          }
          await carl.events.waitFor(messageWith("relayed first"), "carl hearing node 1's message");
          await carl.events.waitFor(messageWith("stored second"), "carl hearing node 0's message");
          const said = (e: ServerEvent) =>
            e.type === "message" && ["relayed first", "stored second"].includes(e.text);
          assert.deepEqual(
            carl.events.items.filter(said).map((e) => (e as MessageEvent).id),
            [first, second],
            "in id order",
          );
        },
      );

      await t.step(
        "a lower id still on the bus reaches a session before a higher one stored on its node; " +
          "its client, moved to another node in that instant, misses nothing",
        async () => {
          // finn is on node 0 and moves to node 1 when node 0 stops.
          const finn = await movingClient(nodes, "finn");
          clients.push(finn);
          const finnEvents = finn.events;
          link.hold();
          let first: number, second: number;
          try {
            // Stored on node 1 first; its relay to node 0 waits in the held link.
            first = replyData<{ id: number }>(await bob.cmd("say", "lower id")).id;
            // Stored on node 0 next, with the next id.
            second = replyData<{ id: number }>(await alice.cmd("say", "higher id")).id;
            assert.ok(first < second);
            await finnEvents.waitFor(messageWith("higher id"), "finn hearing node 0's message");
            // A node that stops (not one that dies) makes no other node catch up from the store.
            await nodes[0].stop();
          } finally {
            link.release();
          }
          await finnEvents.waitFor(messageWith("lower id"), "finn hearing node 1's message");
          const said = (e: ServerEvent) =>
            e.type === "message" && ["lower id", "higher id"].includes(e.text);
          assert.deepEqual(
            finnEvents.items.filter(said).map((e) => (e as MessageEvent).id),
            [first, second],
            "each once, in id order",
          );
        },
      );
    } finally {
      for (const c of clients) await c.close().catch(() => {});
      for (const node of nodes) {
        await node.stop();
        await Deno.remove(node.dataDir, { recursive: true }).catch(() => {});
      }
    }
  },
);
