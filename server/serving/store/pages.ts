// History pages, shared by every store: a turn's messages of one conversation are kept as one row
// holding their encoded events. This module stages messages into pages; each store writes them.

import type { MessageEvent } from "../../../protocol/mod.ts";
import { encodeMessage, fromEvent } from "../message_event.ts";
import type { AddedMessage, StoredMessage } from "./store.ts";

/** Most messages in one page: bounds what a history read parses to find a few messages. */
export const PAGE_MAX = 256;

/** The messages of one conversation stored in this turn and not yet written. */
export interface PendingPage {
  conv: string;
  first: number;
  last: number;
  newestTs: number;
  events: string[];
  /**
   * The client message ids of `events`, index for index (null for a message without one), once
   * one of them has an id. Written as the page's `cids` column: a flat JSON array of strings
   * encodes in a fraction of the time of `[index, cid]` pairs (issue #14, docs/REPORT.md 3.2),
   * which older pages hold and `pageMessages` still reads.
   */
  cids?: (string | null)[];
}

/** The two accounts of a direct conversation's key (the same one twice when someone wrote to themselves). */
export function directParties(conv: string): [string, string] {
  const [a, b] = conv.slice(2).split(":");
  return [a, b];
}

/**
 * Adds a message under id `id` to its conversation's pending page, encoding its event once. A full
 * page is handed to `writeFull` first and a new one started.
 */
export function stageMessage(
  pending: Map<string, PendingPage>,
  id: number,
  message: Omit<StoredMessage, "id">,
  writeFull: (page: PendingPage) => void,
): AddedMessage {
  // Built field by field: an object spread here costs more than the rest of the function.
  const stored: AddedMessage = {
    id,
    ts: message.ts,
    conv: message.conv,
    scope: message.scope,
    from: message.from,
    to: message.to,
    group: message.group,
    action: message.action,
    text: message.text,
    cid: message.cid,
    event: "",
  };
  const event = stored.event = encodeMessage(stored);
  let page = pending.get(message.conv);
  if (page && page.events.length === PAGE_MAX) {
    writeFull(page);
    page = undefined;
  }
  if (!page) {
    page = { conv: message.conv, first: id, last: id, newestTs: message.ts, events: [] };
    pending.set(message.conv, page);
  }
  page.last = id;
  page.newestTs = Math.max(page.newestTs, message.ts);
  if (message.cid !== undefined) {
    (page.cids ??= new Array<string | null>(page.events.length).fill(null)).push(message.cid);
  } else if (page.cids) page.cids.push(null);
  page.events.push(event);
  return stored;
}

let unreadable = 0;

/** How many times a stored page could not be read since the process started. */
export function unreadablePages(): number {
  return unreadable;
}

/**
 * The messages of a stored page (`body`, a JSON array of events), oldest first; each with its
 * client message id when the page's `cids` has one.
 */
export function pageMessages(conv: string, body: string, cids?: unknown): StoredMessage[] {
  let messages: StoredMessage[];
  try {
    messages = (JSON.parse(body) as MessageEvent[]).map((e) => fromEvent(e, conv));
  } catch {
    // A damaged page (a disk error, a hand edit) reads as empty: `/history` and catch-ups go on
    // with the pages around it instead of failing every request that touches it.
    unreadable++;
    return [];
  }
  if (typeof cids === "string") {
    try {
      for (const [index, cid] of cidEntries(cids)) {
        if (messages[index]) messages[index].cid = cid;
      }
    } catch {
      unreadable++; // the messages stand; only duplicate suppression of their re-sends is lost
    }
  }
  return messages;
}

/** The client message ids of a page's messages with an id above `above`. */
export function pageClientIds(
  body: string,
  cids: string,
  above: number,
): { id: number; ts: number; sender: string; cid: string }[] {
  const events = JSON.parse(body) as MessageEvent[];
  const found = [];
  for (const [index, cid] of cidEntries(cids)) {
    const e = events[index];
    if (e && e.id > above) found.push({ id: e.id, ts: e.ts, sender: e.from, cid });
  }
  return found;
}

/**
 * [index in the page, client message id] of a page's `cids` column, in either of its forms: a
 * flat array aligned with the events (null where a message has none; written since issue #14's
 * item 6) or the `[index, cid]` pairs of older pages. Throws on anything else.
 */
export function cidEntries(cids: string): [number, string][] {
  const parsed: unknown = JSON.parse(cids);
  if (!Array.isArray(parsed)) throw new TypeError("a page's cids are not an array");
  const entries: [number, string][] = [];
  parsed.forEach((entry: unknown, index) => {
    if (typeof entry === "string") entries.push([index, entry]);
    else if (Array.isArray(entry) && typeof entry[0] === "number" && typeof entry[1] === "string") {
      entries.push([entry[0], entry[1]]);
    } else if (entry !== null) throw new TypeError("a page's cids hold an unknown entry");
  });
  return entries;
}
