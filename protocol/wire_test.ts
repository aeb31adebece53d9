// Tests of the wire codec: which frame lists decode to messages and which fail with which code.
// Frames are built by hand as bytes, exactly as a ROUTER hands them over after the routing id.

import assert from "node:assert/strict";
import {
  decodeFrames,
  encodeBatch,
  encodeBatches,
  joinBatch,
  MAX_BATCH,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  WireError,
} from "./wire.ts";

const enc = new TextEncoder();
const VERSION = enc.encode(PROTOCOL_VERSION);

/** Asserts that decoding `frames` throws a WireError with `code`. */
function assertWireError(frames: Uint8Array[], code: WireError["code"]): WireError {
  let caught: unknown;
  try {
    decodeFrames(frames);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof WireError, `expected a WireError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  assert.equal(caught.name, "WireError");
  assert.match(caught.message, /^Cannot decode message: /);
  return caught;
}

Deno.test("decodeFrames() returns the messages of a good batch in order", async (t) => {
  await t.step("several messages", () => {
    const body = enc.encode('[{"op":"ping","id":1},{"op":"logout","id":2}]');
    assert.deepEqual(decodeFrames([VERSION, body]), [
      { op: "ping", id: 1 },
      { op: "logout", id: 2 },
    ]);
  });
  await t.step("an empty batch", () => {
    assert.deepEqual(decodeFrames([VERSION, enc.encode("[]")]), []);
  });
  await t.step("non-ASCII text survives", () => {
    const body = enc.encode('[{"text":"héllo → 世界 🎉"}]');
    assert.deepEqual(decodeFrames([VERSION, body]), [{ text: "héllo → 世界 🎉" }]);
  });
  await t.step("exactly MAX_BATCH messages", () => {
    const body = enc.encode(JSON.stringify(Array.from({ length: MAX_BATCH }, (_, i) => i)));
    assert.equal(decodeFrames([VERSION, body]).length, MAX_BATCH);
  });
  await t.step("a body of exactly MAX_FRAME_BYTES", () => {
    const filler = "x".repeat(MAX_FRAME_BYTES - 4);
    const body = enc.encode(`["${filler}"]`);
    assert.equal(body.byteLength, MAX_FRAME_BYTES);
    assert.deepEqual(decodeFrames([VERSION, body]), [filler]);
  });
});

Deno.test("decodeFrames() refuses a wrong number of frames with bad_frame", async (t) => {
  const body = enc.encode("[]");
  await t.step("none", () => {
    const error = assertWireError([], "bad_frame");
    assert.match(error.message, /expected 2 frames, got 0/);
  });
  await t.step("only the version", () => {
    assertWireError([VERSION], "bad_frame");
  });
  await t.step("three", () => {
    const error = assertWireError([VERSION, body, body], "bad_frame");
    assert.match(error.message, /got 3/);
  });
});

Deno.test("decodeFrames() refuses a bad version frame with bad_version", async (t) => {
  const body = enc.encode("[]");
  await t.step("another version", () => {
    assertWireError([enc.encode("chatz/2"), body], "bad_version");
  });
  await t.step("an empty frame", () => {
    assertWireError([new Uint8Array(0), body], "bad_version");
  });
  await t.step("the right version with a trailing byte", () => {
    assertWireError([enc.encode(PROTOCOL_VERSION + "\n"), body], "bad_version");
  });
  await t.step("the version in another case", () => {
    assertWireError([enc.encode(PROTOCOL_VERSION.toUpperCase()), body], "bad_version");
  });
  await t.step("body and version swapped", () => {
    assertWireError([body, VERSION], "bad_version");
  });
});

Deno.test("decodeFrames() refuses a body that is not UTF-8 JSON with bad_frame", async (t) => {
  await t.step("invalid UTF-8 bytes", () => {
    // 0xff never occurs in UTF-8; a lenient decoder would turn it into U+FFFD and parse.
    const body = new Uint8Array([0x5b, 0x22, 0xff, 0x22, 0x5d]); // ["<ff>"]
    const error = assertWireError([VERSION, body], "bad_frame");
    assert.match(error.message, /not UTF-8 JSON/);
  });
  await t.step("a truncated multi-byte sequence", () => {
    const body = new Uint8Array([0x5b, 0x22, 0xe2, 0x82, 0x22, 0x5d]);
    assertWireError([VERSION, body], "bad_frame");
  });
  await t.step("not JSON", () => {
    assertWireError([VERSION, enc.encode("[{op:ping}]")], "bad_frame");
  });
  await t.step("an empty body", () => {
    assertWireError([VERSION, new Uint8Array(0)], "bad_frame");
  });
});

Deno.test("decodeFrames() refuses JSON that is not an array with bad_frame", async (t) => {
  for (const json of ['{"op":"ping","id":1}', "1", '"[]"', "null", "true"]) {
    await t.step(json, () => {
      const error = assertWireError([VERSION, enc.encode(json)], "bad_frame");
      assert.match(error.message, /not a JSON array/);
    });
  }
});

Deno.test("decodeFrames() refuses oversized input with too_large", async (t) => {
  await t.step("one message over MAX_BATCH", () => {
    const body = enc.encode(JSON.stringify(Array.from({ length: MAX_BATCH + 1 }, () => 0)));
    const error = assertWireError([VERSION, body], "too_large");
    assert.match(error.message, new RegExp(`over ${MAX_BATCH} messages`));
  });
  await t.step("one byte over MAX_FRAME_BYTES", () => {
    const body = enc.encode(`["${"x".repeat(MAX_FRAME_BYTES - 3)}"]`);
    assert.equal(body.byteLength, MAX_FRAME_BYTES + 1);
    assertWireError([VERSION, body], "too_large");
  });
  await t.step("an oversized body that is not even JSON is still too_large", () => {
    // The size is checked before decoding, so a huge frame costs no parsing.
    assertWireError([VERSION, new Uint8Array(MAX_FRAME_BYTES + 1).fill(0xff)], "too_large");
  });
});

Deno.test("joinBatch() builds a JSON array from already-encoded messages", async (t) => {
  await t.step("none", () => {
    assert.equal(joinBatch([]), "[]");
  });
  await t.step("one", () => {
    assert.equal(joinBatch(['{"a":1}']), '[{"a":1}]');
  });
  await t.step("several, in order", () => {
    const parts = [{ a: 1 }, "two", [3], null].map((m) => JSON.stringify(m));
    assert.deepEqual(JSON.parse(joinBatch(parts)), [{ a: 1 }, "two", [3], null]);
  });
});

Deno.test("encodeBatch() and joinBatch() round-trip through decodeFrames()", async (t) => {
  const messages = [
    { type: "message", id: 1, text: 'hi "there" \\ é 🎉\n' },
    { re: 2, ok: true },
    { type: "notice", text: "" },
  ];
  await t.step("encodeBatch", () => {
    const body = enc.encode(encodeBatch(messages));
    assert.deepEqual(decodeFrames([VERSION, body]), messages);
  });
  await t.step("joinBatch", () => {
    const body = enc.encode(joinBatch(messages.map((m) => JSON.stringify(m))));
    assert.deepEqual(decodeFrames([VERSION, body]), messages);
  });
  await t.step("both give the same body", () => {
    assert.equal(encodeBatch(messages), joinBatch(messages.map((m) => JSON.stringify(m))));
  });
});

Deno.test("decodeFrames() skips one byte-order mark before the body", () => {
  const enc = new TextEncoder();
  const body = enc.encode('\uFEFF[{"op":"ping","id":1}]');
  assert.deepEqual(decodeFrames([enc.encode(PROTOCOL_VERSION), body]), [{ op: "ping", id: 1 }]);
  const twice = enc.encode('\uFEFF\uFEFF[{"op":"ping","id":1}]');
  assert.throws(() => decodeFrames([enc.encode(PROTOCOL_VERSION), twice]), /not UTF-8 JSON/);
});

Deno.test("encodeBatches() splits a long list into frames a peer accepts", async (t) => {
  await t.step("a short list is one frame, as encodeBatch writes it", () => {
    const messages = [{ op: "ping", id: 1 }, { op: "ping", id: 2 }];
    assert.deepEqual(encodeBatches(messages), [encodeBatch(messages)]);
  });
  await t.step("at most MAX_BATCH messages a frame, in order", () => {
    const messages = Array.from({ length: 2 * MAX_BATCH + 3 }, (_, id) => ({ op: "ping", id }));
    const frames = encodeBatches(messages);
    const decoded = frames.map((f) => decodeFrames([VERSION, enc.encode(f)]));
    assert.deepEqual(decoded.map((d) => d.length), [MAX_BATCH, MAX_BATCH, 3]);
    assert.deepEqual(decoded.flat(), messages);
  });
  await t.step("at most maxBytes bytes a frame, however the text is spelled", () => {
    const text = "é".repeat(1000); // 2 bytes each in UTF-8
    const messages = Array.from({ length: 20 }, (_, id) => ({ op: "cmd", id, cmd: "say", text }));
    const frames = encodeBatches(messages, 16 * 1024);
    assert.ok(frames.length > 1);
    for (const frame of frames) {
      assert.ok(new TextEncoder().encode(frame).byteLength <= 16 * 1024);
    }
    assert.deepEqual(frames.flatMap((f) => decodeFrames([VERSION, enc.encode(f)])), messages);
  });
});
