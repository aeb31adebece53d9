// Unit tests of the client connection over a fake link and a fake clock: the first login's re-dials,
// reconnecting after silence with the session token, resuming from the cursor, re-sending commands.

import assert from "node:assert/strict";
import { encodeBatch, type LoginData, PROTOCOL_VERSION } from "../protocol/mod.ts";
import { connect, type ConnectionStatus } from "./connection.ts";
import { FakeClock, settle } from "./fake_clock.ts";
import type { ClientLink, OpenLink } from "./link.ts";

/** A link that records what the client sends and delivers what the test says the server sent. */
class FakeLink implements ClientLink {
  sent: Record<string, unknown>[] = [];
  connects = 0;
  redials = 0;
  pending = 0;
  closed = false;
  readonly publicKey = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
  constructor(readonly onFrames: (frames: Uint8Array[]) => void) {}
  connect = () => void this.connects++;
  redial = () => void this.redials++;
  send = (frames: (string | Uint8Array)[]) => {
    this.sent.push(...JSON.parse(String(frames[1])));
  };
  discardQueued = () => {};
  watchHandshake = () => ({
    failed: new Promise<never>(() => {}),
    progress: { connected: true, admitted: true, refusedDials: 0, connectedAt: 0 },
    stop() {},
  });
  close = () => {
    this.closed = true;
    return Promise.resolve();
  };
  /** The server sends these messages, in one frame. */
  deliver(...messages: object[]): void {
    const encode = (text: string) => new TextEncoder().encode(text);
    this.onFrames([encode(PROTOCOL_VERSION), encode(encodeBatch(messages as never[]))]);
  }
  /** The last request sent with this op. */
  last(op: string): Record<string, unknown> {
    const found = this.sent.filter((r) => r.op === op).at(-1);
    assert.ok(found, `no ${op} request was sent`);
    return found;
  }
}

function loginData(fields: Partial<LoginData> = {}): LoginData {
  return {
    login: "alice",
    registered: false,
    token: "token-1",
    catalog: [],
    server: { name: "chatz", version: "test", protocol: PROTOCOL_VERSION },
    pingIntervalMs: 1000,
    cursor: 5,
    catchup: { count: 0, complete: true },
    ...fields,
  };
}

/** Starts connect() over fakes; the test answers the login itself. */
function start(options: { reconnect?: boolean; events?: unknown[] } = {}) {
  const clock = new FakeClock();
  let link!: FakeLink;
  const openLink: OpenLink = (onFrames) => link = new FakeLink(onFrames);
  const statuses: ConnectionStatus[] = [];
  const connecting = connect({
    server: "tcp://fake:1",
    login: "alice",
    password: "secret",
    timeoutMs: 60_000,
    reconnect: options.reconnect,
    openLink,
    clock,
    onStatus: (status) => statuses.push(status),
    onEvent: (event) => options.events?.push(event),
  });
  return { clock, link: () => link, connecting, statuses };
}

/** Starts connect() over fakes and answers its login: the connection is online. */
async function startOnline(
  options: { reconnect?: boolean; events?: unknown[] } = {},
  data: Partial<LoginData> = {},
) {
  const { clock, link, connecting, statuses } = start(options);
  await settle();
  const fake = link();
  fake.deliver({ re: fake.last("login").id, ok: true, data: loginData(data) });
  return { clock, fake, statuses, connection: await connecting };
}

Deno.test("connect() re-dials a login that cannot get out, waiting twice as long each time", async () => {
  const { clock, link, connecting } = start();
  await settle();
  const fake = link();
  assert.equal(fake.connects, 1);
  fake.pending = 1; // the login sits in the queue: no connection came up
  await clock.advance(1000);
  assert.equal(fake.redials, 1, "after 1 s");
  await clock.advance(1999);
  assert.equal(fake.redials, 1, "not before 2 s more");
  await clock.advance(1);
  assert.equal(fake.redials, 2);
  fake.pending = 0;
  fake.deliver({ re: fake.last("login").id, ok: true, data: loginData() });
  const connection = await connecting;
  await clock.advance(16_000);
  assert.equal(fake.redials, 2, "no re-dial once logged in");
  await connection.close();
  assert.equal(fake.closed, true);
});

Deno.test("a first login names the link's key, and re-dials when the server answers unknown_key", async () => {
  const { link, connecting } = start();
  await settle();
  const fake = link();
  const first = fake.last("login");
  assert.equal(first.key, fake.publicKey);
  fake.deliver({ re: first.id, ok: false, code: "unknown_key", message: "re-dial" });
  await settle();
  assert.equal(fake.redials, 1, "re-dialled at once");
  const second = fake.last("login");
  assert.notEqual(second.id, first.id, "and logged in again");
  fake.deliver({ re: second.id, ok: true, data: loginData() });
  const connection = await connecting;
  await connection.close();
});

Deno.test("a silent server is left: the client resumes with its token and re-sends the command", async (t) => {
  const { clock, statuses, fake, connection } = await startOnline({ reconnect: true });

  const sending = connection.command("say", "hello");
  await settle();
  const first = fake.last("cmd");
  assert.match(String(first.cid), /^[0-9a-f]{8}-1$/);

  await t.step("silence past three ping intervals starts a reconnect", async () => {
    await clock.advance(3300);
    assert.equal(fake.redials, 1);
    assert.deepEqual(statuses[0], {
      state: "reconnecting",
      reason: "no answer from the server for 3 s",
      attempt: 1,
      delayMs: 0,
    });
  });

  await t.step("the re-login carries the token and the cursor to resume from", () => {
    const relogin = fake.last("login");
    assert.equal(relogin.token, "token-1");
    assert.equal(relogin.resume, 5);
    assert.equal(relogin.password, undefined);
  });

  await t.step("once back, the unanswered command goes again with the same cid", async () => {
    const before = fake.sent.filter((r) => r.op === "cmd").length;
    fake.deliver({ re: fake.last("login").id, ok: true, data: loginData({ token: "token-2" }) });
    await settle();
    const resent = fake.sent.filter((r) => r.op === "cmd");
    assert.equal(resent.length, before + 1);
    assert.equal(resent.at(-1)!.cid, first.cid);
    assert.deepEqual(statuses.at(-1), { state: "online", catchup: { count: 0, complete: true } });
    fake.deliver({ re: resent.at(-1)!.id as number, ok: true, data: { id: 6, ts: 1 } });
    const reply = await sending;
    assert.equal(reply.ok, true);
    assert.equal(connection.session.token, "token-2");
  });

  await connection.close();
});

Deno.test("an unanswered re-login is tried again on a fresh connection, waiting longer", async () => {
  const { clock, statuses, fake, connection } = await startOnline({ reconnect: true });
  fake.deliver({ type: "bye", code: "timed_out", message: "Session timed out" });
  await settle();
  assert.equal(fake.redials, 1);
  await clock.advance(250);
  assert.equal(fake.redials, 2, "the first answer wait is 250 ms");
  await clock.advance(499);
  assert.equal(fake.redials, 2);
  await clock.advance(1);
  assert.equal(fake.redials, 3, "then 500 ms");
  assert.deepEqual(statuses.map((s) => s.state === "reconnecting" && s.reason), [
    "Session timed out",
    "no answer yet",
    "no answer yet",
  ]);
  await connection.close();
});

Deno.test("a re-login refused while the server's database is away is tried again, then resumes", async () => {
  const events: { type?: string; code?: string }[] = [];
  const { clock, statuses, fake, connection } = await startOnline({ reconnect: true, events });
  fake.deliver({ type: "bye", code: "timed_out", message: "Session timed out" });
  await settle();
  for (const code of ["store_unavailable", "storage_failed"]) {
    const logins = fake.sent.filter((r) => r.op === "login").length;
    fake.deliver({ re: fake.last("login").id, ok: false, code, message: `Cannot log in: ${code}` });
    await settle();
    assert.equal(statuses.at(-1)?.state, "reconnecting", `${code} does not end the session`);
    assert.ok(!events.some((e) => e.code === code), `no bye ${code}`);
    await clock.advance(15_000); // past the longest back-off
    assert.ok(
      fake.sent.filter((r) => r.op === "login").length > logins,
      `tried again after ${code}`,
    );
  }
  fake.deliver({ re: fake.last("login").id, ok: true, data: loginData({ token: "token-2" }) });
  await settle();
  assert.equal(statuses.at(-1)?.state, "online");
  await connection.close();
});

Deno.test("a lower id arriving after a higher one (another node's) is taken once; repeats are dropped", async () => {
  const events: unknown[] = [];
  const { fake, connection } = await startOnline({ events }, { cursor: 5 });
  const message = (id: number) => ({
    type: "message",
    scope: "public",
    id,
    from: "bob",
    text: `m${id}`,
    ts: id,
  });
  fake.deliver(message(8), message(7), message(8), message(7), message(9));
  await settle();
  assert.deepEqual(events.map((e) => (e as { id: number }).id), [8, 7, 9]);
  assert.equal(connection.lastMessageId, 9, "the cursor is the highest id taken");
  await connection.close();
});

Deno.test("a delayed copy of a message taken live is dropped; an old delayed one is taken", async () => {
  const events: unknown[] = [];
  const { fake, connection } = await startOnline({ events }, { cursor: 5 });
  const message = (id: number, delayed = false) => ({
    type: "message",
    scope: "direct",
    id,
    from: "alice",
    to: "bob",
    text: `m${id}`,
    ts: id,
    ...(delayed ? { delayed: true } : {}),
  });
  fake.deliver(message(6), message(7), message(6, true), message(2, true), message(2, true));
  await settle();
  assert.deepEqual(events.map((e) => (e as { id: number }).id), [6, 7, 2]);
  assert.equal(connection.lastMessageId, 7, "delayed messages never move the cursor");
  await connection.close();
});
