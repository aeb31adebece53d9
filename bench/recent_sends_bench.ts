// Micro-benchmark of duplicate suppression at a full window: one Map evicting its oldest key per
// insert (the first way), two generations of Maps (the second), and the server's typed-array
// generations (RecentSends). Run with `deno task bench:micro`.

import { RecentSends } from "../server/serving/recent_sends.ts";

/** The server's window: as many ids as it remembers. */
const WINDOW = 100_000;
/** Sends measured per iteration, after the window is full. */
const INSERTS = 10_000;

const cid = (n: number) => `3f9c1a7e-${n}`;
const key = (n: number) => `alice\u00000:${cid(n)}`;
const sent = (n: number) => ({ id: n, ts: 1_767_261_600_000 + n });

function evictOldest(): () => void {
  const map = new Map<string, { id: number; ts: number }>();
  let n = 0;
  for (; n < WINDOW; n++) map.set(key(n), sent(n));
  return () => {
    for (let i = 0; i < INSERTS; i++, n++) {
      if (map.size >= WINDOW) map.delete(map.keys().next().value!);
      const k = key(n);
      if (map.get(k) === undefined) map.set(k, sent(n));
    }
  };
}

function mapGenerations(): () => void {
  let current = new Map<string, { id: number; ts: number }>();
  let previous = new Map<string, { id: number; ts: number }>();
  let n = 0;
  const remember = (k: string, v: { id: number; ts: number }) => {
    if (current.size >= WINDOW) [previous, current] = [current, new Map()];
    current.set(k, v);
  };
  for (; n < WINDOW; n++) remember(key(n), sent(n));
  return () => {
    for (let i = 0; i < INSERTS; i++, n++) {
      const k = key(n);
      if ((current.get(k) ?? previous.get(k)) === undefined) remember(k, sent(n));
    }
  };
}

function typedGenerations(): () => void {
  const recent = new RecentSends(WINDOW);
  let n = 0;
  for (; n < WINDOW; n++) recent.remember("alice", 0, cid(n), sent(n));
  return () => {
    for (let i = 0; i < INSERTS; i++, n++) {
      const c = cid(n);
      if (recent.get("alice", 0, c) === undefined) recent.remember("alice", 0, c, sent(n));
    }
  };
}

Deno.bench({
  name: "one Map, evict the oldest key (10,000 sends at a full window)",
  group: "dedupe",
  fn: evictOldest(),
});
Deno.bench({
  name: "two generations of Maps (10,000 sends at a full window)",
  group: "dedupe",
  fn: mapGenerations(),
});
Deno.bench({
  name: "two generations of typed-array hash tables (10,000 sends at a full window)",
  group: "dedupe",
  baseline: true,
  fn: typedGenerations(),
});
Deno.bench({
  name: "reload 100,000 stored ids at start",
  fn() {
    const recent = new RecentSends(WINDOW);
    for (let n = 0; n < WINDOW; n++) recent.remember("alice", 0, cid(n), sent(n));
  },
});
