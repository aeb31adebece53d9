// docs/PROTOCOL.md against the running server: what the document promises, a real server does.
// Each check reads the document's own text where it can, so a change on either side fails here.

import assert from "node:assert/strict";
import { ROOT } from "./harness.ts";
import { client, replyData, startServerProcess, type TestClient } from "./harness.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const DOC = Deno.readTextFileSync(`${ROOT}docs/PROTOCOL.md`);

/** The text of one `###` section of the document, up to the next heading. */
function section(title: string): string {
  const start = DOC.indexOf(`### ${title}`);
  assert.ok(start >= 0, `PROTOCOL.md has a section "${title}"`);
  const end = DOC.indexOf("\n#", start + 4);
  return DOC.slice(start, end < 0 ? undefined : end);
}

/** The reply's text of a command that must succeed. */
async function text(who: TestClient, cmd: string, args: string): Promise<string> {
  const reply = await who.cmd(cmd, args);
  replyData(reply);
  return reply.ok ? reply.text ?? "" : "";
}

Deno.test("PROTOCOL.md and the server agree on replies and the login data", opts, async (t) => {
  const server = await startServerProcess();
  const clients: TestClient[] = [];
  try {
    const alice = await client(server.endpoint, "Alice");
    const bob = await client(server.endpoint, "BoB");
    clients.push(alice, bob);

    await t.step("§3.5 lists every field of the login reply's data, cursor included", () => {
      const block = /```ts\ninterface LoginData \{\n([\s\S]*?)\n\}/.exec(section("3.5"));
      assert.ok(block, "§3.5 has the LoginData interface");
      const documented = [...block[1].matchAll(/^ {2}(\w+)\??:/gm)].map((m) => m[1]).sort();
      assert.deepEqual(documented, Object.keys(alice.conn.session).sort());
    });

    await t.step(
      "group replies use the display spellings (§3.1), `#` prefix accepted",
      async () => {
        assert.equal(await text(alice, "group", "create Geeks"), "Created group Geeks");
        assert.equal(await text(bob, "join", "#geeks"), "Joined group Geeks (2 members)");
        assert.equal(await text(alice, "group", "owner #GEEKS bob"), "BoB now owns Geeks");
        assert.equal(await text(bob, "group", "kick geeks alice"), "Removed Alice from Geeks");
        assert.equal(await text(bob, "group", "ban GEEKS alice"), "Banned Alice from Geeks");
        assert.equal(await text(bob, "group", "unban geeks ALICE"), "Alice may join Geeks again");
        assert.equal(await text(bob, "group", "topic gEEKs the best"), "Topic of Geeks set");
        assert.equal(
          await text(bob, "group", "invite #GEEKS alice"),
          "Invited Alice to Geeks; Geeks is now invite-only",
        );
        assert.equal(await text(bob, "group", "open geeks"), "Geeks is open to all");
        replyData(await bob.cmd("g", "#geeks hello geeks"));
        assert.match(await text(bob, "history", "#GEEKS"), /^1 message of #Geeks$/);
        replyData(await alice.cmd("msg", "bob hi"));
        assert.match(await text(bob, "history", "alice"), /^1 message of Alice$/);
        assert.equal(await text(bob, "group", "leave GEEKS"), "Left group Geeks");
      },
    );

    await t.step("join history comes oldest first, before the reply (§4.5)", async () => {
      replyData(await alice.cmd("group", "create ops"));
      const sent: number[] = [];
      for (const n of [1, 2, 3]) {
        sent.push(replyData<{ id: number }>(await alice.cmd("g", `ops number ${n}`)).id);
      }
      bob.events.clear();
      replyData(await bob.cmd("join", "ops"));
      const replayed = bob.events.items.filter((e) => e.type === "message" && e.history);
      assert.deepEqual(replayed.map((e) => e.type === "message" && e.id), sent);
    });

    await t.step(
      "args split on ASCII whitespace only: NBSP and U+3000 are in words (§4.2)",
      async () => {
        const odd = "pw\u00a0with\u3000spaces";
        replyData(await bob.cmd("passwd", `pw-BoB ${odd}`));
        const again = await client(server.endpoint, "bob", odd);
        clients.push(again);
        assert.equal(again.conn.session.login, "BoB", "logged in with the password as typed");
      },
    );
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await server.stop();
  }
});
