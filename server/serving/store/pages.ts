// History pages, shared by every store: a turn's messages of one conversation are kept as one row
// holding their encoded events. This module stages messages into pages; each store writes them.

import type { MessageEvent } from "../../../protocol/mod.ts";
import { joinBatch } from "../../../protocol/wire.ts";
import { encodeMessage, fromEvent } from "../message_event.ts";
import type { AddedMessage, NewMessage, StoredMessage } from "./store.ts";

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
   * The page's `cids` column as it is built, once one of its messages has a client message id: per
   * message `null` (none) or its stored client id, except that consecutive messages whose ids
   * count up by one from a common stem (a client's `0:3f9c1a7e-41`, `0:3f9c1a7e-42`, …) share one
   * run `[stem, first counter, count]`. A run grows in place, so the common case keeps no string
   * per message until the commit and writes a few bytes per page (issue #14 item 6, docs/REPORT.md
   * 3.2). `cidEntries` reads it, and the forms older pages hold.
   */
  cids?: CidEntry[];
  /** The split of the id `cids` ends with, when that is a single id (`stageCid`). */
  lastStem?: string;
  lastCounter?: number;
}

/**
 * A page's row as both stores write it, in their `pages` columns' order: last, conv, first,
 * newest_ts, count, body (the events as one JSON array), cids.
 */
export function pageRow(
  page: PendingPage,
): [number, string, number, number, number, string, string | null] {
  return [
    page.last,
    page.conv,
    page.first,
    page.newestTs,
    page.events.length,
    joinBatch(page.events),
    page.cids ? JSON.stringify(page.cids) : null,
  ];
}

/** One entry of a page's `cids` column (see `PendingPage.cids`). */
export type CidEntry = string | null | [stem: string, first: number, count: number];

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
  message: NewMessage,
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
    stageCid(page, page.cids ??= new Array<CidEntry>(page.events.length).fill(null), message);
  } else if (page.cids) page.cids.push(null);
  page.events.push(event);
  return stored;
}

/**
 * Adds a message's stored client id to a page's `cids`; with its split (`NewMessage.cidStem`), it
 * grows the run it continues, if any.
 */
function stageCid(page: PendingPage, cids: CidEntry[], message: NewMessage): void {
  const stem = message.cidStem;
  const counter = message.cidCounter ?? -1;
  const last = cids.length > 0 ? cids[cids.length - 1] : null;
  if (stem !== undefined && last !== null) {
    if (typeof last !== "string") {
      if (last[0] === stem && last[1] + last[2] === counter) {
        last[2]++;
        return;
      }
    } else if (page.lastStem === stem && page.lastCounter === counter - 1) {
      cids[cids.length - 1] = [stem, counter - 1, 2];
      return;
    }
  }
  cids.push(message.cid!);
  page.lastStem = stem;
  page.lastCounter = counter;
}

let unreadable = 0;

/** How many times a stored page could not be read since the process started. */
export function unreadablePages(): number {
  return unreadable;
}

/**
 * The messages of page rows (their `conv`, `body` and `cids`) with ids above `after` and up to
 * `upTo`, in id order: what a read over pages that may overlap the range keeps of them.
 */
export function messagesInRange(
  rows: Iterable<Record<string, unknown>>,
  after: number,
  upTo = Infinity,
): StoredMessage[] {
  const found: StoredMessage[] = [];
  for (const row of rows) {
    for (const message of pageMessages(String(row.conv), String(row.body), row.cids)) {
      if (message.id > after && message.id <= upTo) found.push(message);
    }
  }
  return found.sort((a, b) => a.id - b.id);
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
 * [index in the page, client message id] of a page's `cids` column, in any of its forms: entries
 * aligned with the events, each `null`, a stored client id or a run `[stem, first, count]` of
 * `count` messages (written since issue #14's item 6; flat strings alone before the runs), or the
 * `[index, cid]` pairs of older pages. Throws on anything else.
 */
export function cidEntries(cids: string): [number, string][] {
  const parsed: unknown = JSON.parse(cids);
  if (!Array.isArray(parsed)) throw new TypeError("a page's cids are not an array");
  const entries: [number, string][] = [];
  let index = 0;
  for (const entry of parsed as unknown[]) {
    if (entry === null) index++;
    else if (typeof entry === "string") entries.push([index++, entry]);
    else if (isPair(entry)) entries.push([entry[0], entry[1]]);
    else if (isRun(entry)) {
      const [stem, first, count] = entry;
      for (let k = 0; k < count; k++) entries.push([index++, `${stem}${first + k}`]);
    } else throw new TypeError("a page's cids hold an unknown entry");
  }
  return entries;
}

/** An `[index, cid]` pair of the oldest form. */
function isPair(entry: unknown): entry is [number, string] {
  return Array.isArray(entry) && entry.length === 2 && Number.isSafeInteger(entry[0]) &&
    typeof entry[1] === "string";
}

/** A run `[stem, first, count]`, within what a page holds. */
function isRun(entry: unknown): entry is [string, number, number] {
  return Array.isArray(entry) && entry.length === 3 && typeof entry[0] === "string" &&
    Number.isSafeInteger(entry[1]) && entry[1] >= 0 && Number.isSafeInteger(entry[2]) &&
    entry[2] >= 1 && entry[2] <= PAGE_MAX;
}
