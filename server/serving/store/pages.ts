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
  /** [index in `events`, client message id] of the messages that have one. */
  cids?: [number, string][];
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
  if (message.cid !== undefined) (page.cids ??= []).push([page.events.length, message.cid]);
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
      for (const [index, cid] of JSON.parse(cids) as [number, string][]) {
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
  for (const [index, cid] of JSON.parse(cids) as [number, string][]) {
    const e = events[index];
    if (e.id > above) found.push({ id: e.id, ts: e.ts, sender: e.from, cid });
  }
  return found;
}
