// One writer of bench/counter_lock.ts: opens its own PostgreSQL store (a node of its own) and runs
// turns of the asked kind until told how many, then reports how long they took.

import { openPostgresStore } from "../server/serving/store/postgres.ts";

/** What the bench asks of a writer. */
export interface WriterTask {
  url: string;
  turns: number;
  /** "messages": each turn stores one message (it takes the id counter's lock); "touch": each turn
   * stages one account update (no shared row), the same commit without the counter. */
  kind: "messages" | "touch";
}

self.onmessage = (event: MessageEvent<WriterTask>) => {
  const { url, turns, kind } = event.data;
  const store = openPostgresStore(url);
  try {
    const started = performance.now();
    for (let t = 0; t < turns; t++) {
      if (kind === "messages") {
        store.addMessage({
          ts: Date.now(),
          conv: "p",
          scope: "public",
          from: "u0",
          action: false,
          text: `m ${t}`,
        });
      } else {
        store.touchAccount(`nobody-${t}`, Date.now());
      }
      store.commit();
    }
    self.postMessage({ ms: performance.now() - started });
  } finally {
    store.close();
  }
};
