// Micro-benchmark of duplicate suppression at a full window: one Map evicting its oldest key per
// insert (the old way) against two generations of Maps. Run with `deno task bench:micro`.

import { RecentSends } from "../server/serving/recent_sends.ts";

/** The server's window: as many ids as it remembers. */
const WINDOW = 100_000;
/** Inserts measured per iteration, after the window is full. */
const INSERTS = 10_000;

function evictOldest(): () => void {
  const map = new Map<string, number>();
  let n = 0;
  for (; n < WINDOW; n++) map.set(`alice\u00000:c${n}`, n);
  return () => {
    for (let i = 0; i < INSERTS; i++, n++) {
      if (map.size >= WINDOW) map.delete(map.keys().next().value!);
      const key = `alice\u00000:c${n}`;
      if (map.get(key) === undefined) map.set(key, n);
    }
  };
}

function generations(): () => void {
  const recent = new RecentSends<number>(WINDOW);
  let n = 0;
  for (; n < WINDOW; n++) recent.remember(`alice\u00000:c${n}`, n);
  return () => {
    for (let i = 0; i < INSERTS; i++, n++) {
      const key = `alice\u00000:c${n}`;
      if (recent.get(key) === undefined) recent.remember(key, n);
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
  baseline: true,
  fn: generations(),
});
Deno.bench({
  name: "reload 100,000 stored ids at start into generations",
  fn() {
    const recent = new RecentSends<number>(WINDOW);
    for (let n = 0; n < WINDOW; n++) recent.remember(`bob\u00000:c${n}`, n);
  },
});
