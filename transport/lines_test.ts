// Tests of the line reader: lines split across chunks, characters split across chunks, no last newline.

import assert from "node:assert/strict";
import { readLines } from "./lines.ts";

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(chunks);
}

async function collect(chunks: Uint8Array[]): Promise<string[]> {
  const lines: string[] = [];
  for await (const line of readLines(streamOf(chunks))) lines.push(line);
  return lines;
}

Deno.test("readLines() joins lines and characters split across chunks", async () => {
  const bytes = new TextEncoder().encode("one\ntwo 🎉\n\nthree");
  const emoji = bytes.indexOf(0xf0);
  const chunks = [bytes.slice(0, 2), bytes.slice(2, emoji + 2), bytes.slice(emoji + 2)];
  assert.deepEqual(await collect(chunks), ["one", "two 🎉", "", "three"]);
});

Deno.test("readLines() yields nothing for an empty stream and no empty last line", async () => {
  assert.deepEqual(await collect([]), []);
  assert.deepEqual(await collect([new TextEncoder().encode("a\n")]), ["a"]);
});
