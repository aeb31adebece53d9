// The transport contract: what every PeerTransport must do, as one test suite run against real
// clients: messages in with a stable peer id, sends out to that peer, connection changes, failures.

import assert from "node:assert/strict";
import type { PeerTransport, Recipient, SendFailure, TransportEvents } from "./peer_transport.ts";

/** A client of the transport under test, as the suite drives it. */
export interface TestClient {
  send(frames: string[]): void;
  /** Messages received, each as its frames decoded as text. */
  readonly received: string[][];
  close(): Promise<void>;
}

/** What an implementation gives the suite: its transport on `events`, and clients to reach it. */
export interface TransportSite {
  transport: PeerTransport;
  connect(): Promise<TestClient>;
  close(): Promise<void>;
}

/** What the transport reported, in order. */
interface Seen {
  received: { from: Recipient; frames: string[]; verified: boolean }[];
  changed: Recipient[];
  failed: { to: Recipient; failure: SendFailure }[];
}

/** Polls `check` every 10 ms until it holds; bounded in count and time (10 s). */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (let i = 0; i < 1000 && Date.now() < deadline; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

/**
 * Registers the contract's tests for one implementation, named `<name>: …`. `make` starts the
 * transport on the given events and says how clients connect to it.
 */
export function runTransportContract(
  name: string,
  make: (events: TransportEvents) => Promise<TransportSite>,
): void {
  async function withSite(fn: (site: TransportSite, seen: Seen) => Promise<void>): Promise<void> {
    const seen: Seen = { received: [], changed: [], failed: [] };
    const decoder = new TextDecoder();
    const site = await make({
      received(from, frames, verified) {
        seen.received.push({ from, frames: frames.map((f) => decoder.decode(f)), verified });
      },
      connectionChanged: (peer) => void seen.changed.push(peer),
      drained() {},
      sendFailed: (to, failure) => void seen.failed.push({ to, failure }),
      handlerError(error) {
        throw error;
      },
    });
    try {
      await fn(site, seen);
    } finally {
      await site.close();
    }
  }

  Deno.test(`${name}: a peer's messages arrive under one id, and sends to it reach it`, async () => {
    await withSite(async (site, seen) => {
      const a = await site.connect();
      const b = await site.connect();
      try {
        a.send(["chatz/1", "from a"]);
        b.send(["chatz/1", "from b"]);
        a.send(["chatz/1", "a again"]);
        await until(() => seen.received.length === 3, "three messages");
        // Connections race each other: find each message by its text, not by its place.
        const byText = (text: string) => seen.received.find((r) => r.frames[1] === text)!;
        const [first, second, third] = [byText("from a"), byText("from b"), byText("a again")];
        assert.deepEqual(first.frames, ["chatz/1", "from a"], "frames after any addressing");
        assert.equal(first.verified, true);
        assert.equal(third.from.id, first.from.id, "one id per connection");
        assert.notEqual(second.from.id, first.from.id);
        site.transport.send(first.from, ["chatz/1", "to a"]);
        site.transport.send(second.from, ["chatz/1", "to b"]);
        await until(() => a.received.length === 1 && b.received.length === 1, "both replies");
        assert.deepEqual(a.received, [["chatz/1", "to a"]]);
        assert.deepEqual(b.received, [["chatz/1", "to b"]]);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });

  Deno.test(`${name}: a connection's start and end are reported under its id`, async () => {
    await withSite(async (site, seen) => {
      const a = await site.connect();
      a.send(["chatz/1", "hello"]);
      await until(() => seen.received.length === 1, "the message");
      const id = seen.received[0].from.id;
      await a.close();
      await until(() => seen.changed.filter((p) => p.id === id).length >= 2, "start and end");
    });
  });

  Deno.test(`${name}: a send to a peer that is gone comes back as failed, "gone"`, async () => {
    await withSite(async (site, seen) => {
      const a = await site.connect();
      a.send(["chatz/1", "hello"]);
      await until(() => seen.received.length === 1, "the message");
      const from = seen.received[0].from;
      await a.close();
      await until(() => seen.changed.filter((p) => p.id === from.id).length >= 2, "its end");
      site.transport.send(from, ["chatz/1", "too late"]);
      await until(() => seen.failed.length === 1, "the failure");
      assert.deepEqual(seen.failed.map((f) => [f.to.id, f.failure]), [[from.id, "gone"]]);
    });
  });
}
