// Tests of the one-shot request/reply helper against real ZeroMQ sockets on loopback.

import assert from "node:assert/strict";
import { Router } from "zeromq";
import { requestOnce, serveRequests } from "./request_reply.ts";
import { startSocketLoop } from "./socket_loop.ts";

const decoder = new TextDecoder();
const text = (frames: Uint8Array[]) => frames.map((f) => decoder.decode(f));

Deno.test("requestOnce() gets the answer serveRequests() gives, to the asking peer only", async (t) => {
  const responder = await serveRequests("tcp://127.0.0.1:*", (frames) => {
    const [kind, body] = text(frames);
    if (kind === "ignore") return undefined;
    if (kind === "later") return Promise.resolve(["late", body]);
    return ["echo", body];
  });
  try {
    assert.match(responder.endpoint, /^tcp:\/\/127\.0\.0\.1:\d+$/);
    const ask = (frames: string[], timeoutMs = 10_000) =>
      requestOnce({ endpoint: responder.endpoint, frames, timeoutMs, accept: text });
    await t.step("a synchronous answer", async () => {
      assert.deepEqual(await ask(["hello", "1"]), ["echo", "1"]);
    });
    await t.step("an answer given by a promise", async () => {
      assert.deepEqual(await ask(["later", "2"]), ["late", "2"]);
    });
    await t.step("two askers at once each get their own answer", async () => {
      const [a, b] = await Promise.all([ask(["x", "a"]), ask(["x", "b"])]);
      assert.deepEqual([a, b], [["echo", "a"], ["echo", "b"]]);
    });
    await t.step("no answer: undefined once the time is up", async () => {
      assert.equal(await ask(["ignore", "3"], 300), undefined);
    });
  } finally {
    await responder.close();
  }
});

Deno.test("requestOnce() skips messages accept() does not take", async () => {
  // A ROUTER that answers with noise first, then the answer.
  const router = new Router({ linger: 0, receiveTimeout: 0, sendTimeout: 0 });
  await router.bind("tcp://127.0.0.1:*");
  const loop = startSocketLoop(router, {
    onMessage([peer]) {
      loop.send([peer, "noise"]);
      loop.send([peer, "answer"]);
    },
  }, { checkWritable: false });
  try {
    const skipped: string[] = [];
    const answer = await requestOnce({
      endpoint: router.lastEndpoint!,
      frames: ["q"],
      timeoutMs: 10_000,
      accept: (frames) => {
        const [first] = text(frames);
        if (first === "answer") return first;
        skipped.push(first);
        return undefined;
      },
    });
    assert.equal(answer, "answer");
    assert.deepEqual(skipped, ["noise"]);
  } finally {
    await loop.close();
  }
});

Deno.test("requestOnce() throws for an endpoint it cannot connect to", async () => {
  await assert.rejects(
    requestOnce({ endpoint: "nonsense://x", frames: ["q"], timeoutMs: 1000, accept: text }),
  );
});

Deno.test("serveRequests() throws when it cannot bind", async () => {
  const first = await serveRequests("tcp://127.0.0.1:*", () => undefined);
  try {
    await assert.rejects(serveRequests(first.endpoint, () => undefined), /in use/i);
  } finally {
    await first.close();
  }
});
