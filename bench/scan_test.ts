// Tests of the load generator's frame counter against frames shaped like chatz's own.
// Anything it does not recognise must go to the full parse, never be miscounted.

import assert from "node:assert/strict";
import { countFrame } from "./scan.ts";

const text = "x".repeat(100);
const message = (id: number) =>
  `{"type":"message","id":${id},"ts":1795325461059,"scope":"direct","from":"u0","text":"${text}","to":"u1"}`;
const ack = (re: number, id: number) =>
  `{"re":${re},"ok":true,"data":{"id":${id},"ts":1795325461059}}`;
const frame = (items: string[]) => `[${items.join(",")}]`;

Deno.test("countFrame() counts message events, presence and acknowledgements", () => {
  assert.deepEqual(countFrame(frame([message(1), message(22), message(333)])), {
    messages: 3,
    presence: 0,
    acks: 0,
  });
  assert.deepEqual(
    countFrame(frame([ack(1000000000001, 1), ack(1000000000002, 2), '{"re":7,"ok":true}'])),
    { messages: 0, presence: 0, acks: 2 },
  );
  assert.deepEqual(
    countFrame(
      frame([message(1), '{"type":"presence","login":"u9","state":"online","ts":1}', ack(3, 4)]),
    ),
    { messages: 1, presence: 1, acks: 1 },
  );
  assert.deepEqual(countFrame("[]"), { messages: 0, presence: 0, acks: 0 });
});

Deno.test("countFrame() leaves every other frame to the full parse", async (t) => {
  const cases: Record<string, string> = {
    "a bye": frame([message(1), '{"type":"bye","code":"server_shutdown","message":"x"}']),
    "a group event": frame(['{"type":"group","group":"g","action":"join","login":"u1","ts":1}']),
    "a refusal": frame([ack(1, 1), '{"re":2,"ok":false,"code":"bad_request","message":"no"}']),
    "a queued message": frame(['{"re":2,"ok":true,"data":{"id":5,"ts":1,"queued":true}}']),
    "a reply with other data": frame(['{"re":2,"ok":true,"data":{"session":false}}']),
    "a nested id outside data": frame(['{"re":2,"ok":true,"data":{"messages":[{"id":1}]}}']),
    "an unclosed data object": '[{"re":2,"ok":true,"data":{"id":5',
  };
  for (const [name, body] of Object.entries(cases)) {
    await t.step(name, () => assert.equal(countFrame(body), undefined));
  }
});
