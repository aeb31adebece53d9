// A stored chat message as the `message` event clients receive, in both directions: encode and decode.
// The store keeps history as these very events, so a message is encoded once for storage and delivery.

import type { MessageEvent } from "../../protocol/mod.ts";
import type { StoredMessage } from "./store/store.ts";

/**
 * How a message event is marked when it is not new: replayed, kept for later, or caught up. `cid`:
 * the client message id of the command that sent it, for catch-up copies of the receiving
 * account's own sends only, so a client recognises what it sent itself.
 */
export type Marks = {
  history?: boolean;
  delayed?: boolean;
  catchup?: boolean;
  cid?: string;
  /** The author's account was deleted after it sent the message. */
  fromDeleted?: boolean;
};

/** A stored message as the event clients receive. */
export function toEvent(m: StoredMessage, marks: Marks = {}): MessageEvent {
  const event: MessageEvent = {
    type: "message",
    id: m.id,
    ts: m.ts,
    scope: m.scope,
    from: m.from,
    text: m.text,
  };
  if (m.to !== undefined) event.to = m.to;
  if (m.group !== undefined) event.group = m.group;
  if (m.action) event.action = true;
  if (marks.history) event.history = true;
  if (marks.delayed) event.delayed = true;
  if (marks.catchup) event.catchup = true;
  if (marks.fromDeleted) event.fromDeleted = true;
  if (marks.cid !== undefined) event.cid = marks.cid;
  return event;
}

/**
 * A stored message encoded as its event: this runs once per message on the message path. The output
 * is exactly `JSON.stringify(toEvent(m, marks))`, joined from pieces. Stringifying the whole event
 * costs twice as much: the text is usually a slice of the command's arguments, and V8's fast
 * JSON.stringify path gives up on a sliced string inside an object and starts over on its slow path.
 * The pieces are joined, not added with `+`: a join leaves one flat string, where `+` leaves a rope
 * that each later join (into a page, into a frame) walks again and the collector has to trace.
 */
export function encodeMessage(m: StoredMessage, marks: Marks = {}): string {
  const parts = [
    `{"type":"message","id":${m.id},"ts":${m.ts},"scope":"${m.scope}","from":`,
    quoted(m.from),
    `,"text":`,
    JSON.stringify(m.text),
  ];
  if (m.to !== undefined) parts.push(`,"to":`, quoted(m.to));
  if (m.group !== undefined) parts.push(`,"group":`, quoted(m.group));
  if (m.action) parts.push(`,"action":true`);
  if (marks.history) parts.push(`,"history":true`);
  if (marks.delayed) parts.push(`,"delayed":true`);
  if (marks.catchup) parts.push(`,"catchup":true`);
  if (marks.fromDeleted) parts.push(`,"fromDeleted":true`);
  if (marks.cid !== undefined) parts.push(`,"cid":`, JSON.stringify(marks.cid));
  parts.push("}");
  return parts.join("");
}

/** A decoded stored event back as the message, in conversation `conv`. */
export function fromEvent(event: MessageEvent, conv: string): StoredMessage {
  return {
    id: event.id,
    ts: event.ts,
    conv,
    scope: event.scope,
    from: event.from,
    to: event.to,
    group: event.group,
    action: event.action === true,
    text: event.text,
  };
}

/** Names seen lately as JSON strings: logins and group names recur on every message. */
const quotedNames = new Map<string, string>();

/** A name as a JSON string, stringified once while it stays in the memo. */
function quoted(name: string): string {
  let json = quotedNames.get(name);
  if (json === undefined) {
    if (quotedNames.size >= 4096) quotedNames.clear();
    quotedNames.set(name, json = JSON.stringify(name));
  }
  return json;
}
