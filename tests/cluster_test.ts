// End-to-end tests of cluster mode: three real `chatz serve` nodes on one throwaway PostgreSQL and
// one throwaway nats-server, real clients on different nodes, chatting as on one server.

import assert from "node:assert/strict";
import type { MessageEvent } from "../protocol/mod.ts";
import {
  client,
  replyData,
  type ServerProcess,
  startServerProcess,
  type TestClient,
  WAIT_MS,
} from "./harness.ts";
import { startNats, startPostgres } from "./services.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** Most `list` requests while waiting for the cluster's directory to settle (a heartbeat is 1 s). */
const LIST_POLLS = 100;

/** Starts `count` nodes on one store and bus; resolves once each has heard from all the others. */
async function startNodes(count: number, store: string, bus: string): Promise<ServerProcess[]> {
  const nodes: ServerProcess[] = [];
  for (let i = 0; i < count; i++) {
    nodes.push(await startServerProcess({ args: ["--store", store, "--bus", bus] }));
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
    } finally {
      for (const c of clients) await c.close().catch(() => {});
      for (const node of nodes) {
        await node.stop();
        await Deno.remove(node.dataDir, { recursive: true }).catch(() => {});
      }
    }
  },
);
