// Seeds a chatz data folder with public history through the store module, before any server runs.
// One transaction for every message, committed once: the fastest way the store offers.

import { monotonicNs } from "./clock.ts";
import { openSqliteStore } from "../server/serving/store/sqlite.ts";
import { conversationOf } from "../server/serving/store/store.ts";
import { TEXT_BYTES } from "./load_protocol.ts";

/** What seeding took. */
export interface SeedResult {
  messages: number;
  seconds: number;
  perSecond: number;
}

/** Stores `count` public messages of TEXT_BYTES bytes each in `dir` and reports the rate. */
export function seedPublicHistory(dir: string, count: number): SeedResult {
  const store = openSqliteStore(dir);
  try {
    const conv = conversationOf({ scope: "public" });
    const text = "h".repeat(TEXT_BYTES);
    const firstTs = Date.now() - count;
    const started = monotonicNs();
    for (let i = 0; i < count; i++) {
      store.addMessage({
        ts: firstTs + i,
        conv,
        scope: "public",
        from: "seeder",
        action: false,
        text,
      });
    }
    store.commit();
    const seconds = Number(monotonicNs() - started) / 1e9;
    return { messages: count, seconds, perSecond: count / seconds };
  } finally {
    store.close();
  }
}
