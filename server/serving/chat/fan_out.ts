// Fan-out: queues an encoded event for the sessions that should see it, and presence for contacts.
// Every event is encoded once by the caller and queued in the outbox for each recipient session;
// in a cluster, the same target is also handed to the other nodes (deps.cluster).

import type { NoticeEvent, PresenceEvent } from "../../../protocol/mod.ts";
import type { Group } from "../groups.ts";
import type { Session } from "../sessions.ts";
import type { ChatDeps, ChatStats } from "./deps.ts";

/** Where encoded events go. `except` is a session id left out (the sender's own session). */
export interface FanOut {
  /** Queues an event for one session, unless it is lagging (it catches up from the store). */
  push(session: Session, encoded: string): void;
  pushAll(list: Iterable<Session>, encoded: string, except?: string): void;
  /** Every session, on every node. */
  pushEveryone(encoded: string, except?: string): void;
  pushToAccount(account: string, encoded: string, except?: string): void;
  pushToMembers(group: Group, encoded: string, except?: string): void;
  /** Tells an account's contacts that it came online or went offline. */
  pushPresence(who: Pick<Session, "account" | "login">, state: PresenceEvent["state"]): void;
  /** A notice to every session. */
  broadcast(text: string): void;
}

/** How every encoded message event starts (message_event.ts writes it so). */
const MESSAGE_EVENT = '{"type":"message",';

/** The id of an encoded message event, read without parsing it (message_event.ts puts it first). */
function messageId(encoded: string): number {
  const start = MESSAGE_EVENT.length + 5; // past `"id":`
  return Number(encoded.slice(start, encoded.indexOf(",", start)));
}

/** Counts a message event by its scope, read from the encoded event without parsing it. */
function countDelivered(stats: ChatStats, encoded: string): void {
  const at = encoded.indexOf('"scope":"', MESSAGE_EVENT.length);
  const initial = encoded.charCodeAt(at + 9);
  if (initial === 112) stats.delivered.public++; // p
  else if (initial === 100) stats.delivered.direct++; // d
  else if (initial === 103) stats.delivered.group++; // g
}

/** Builds the fan-out over the session and group tables; counts deliveries in `stats`. */
export function createFanOut(
  deps: Pick<ChatDeps, "store" | "sessions" | "groups" | "outbox" | "now" | "cluster">,
  stats: ChatStats,
): FanOut {
  const { store, sessions, groups, outbox, now, cluster } = deps;

  function push(session: Session, encoded: string): void {
    if (session.lagging?.active) return; // it catches up from the store when its queue drains
    // In a cluster a message waits while a lower id is still on its way from another node.
    if (
      cluster && encoded.startsWith(MESSAGE_EVENT) &&
      cluster.holdBack(messageId(encoded), () => {
        if (sessions.get(session.id) === session) deliver(session, encoded); // still logged in
      })
    ) return;
    deliver(session, encoded);
  }

  function deliver(session: Session, encoded: string): void {
    if (session.lagging?.active) return;
    outbox.push(session, encoded);
    stats.deliveries++;
    if (encoded.startsWith(MESSAGE_EVENT)) countDelivered(stats, encoded);
  }

  function pushAll(list: Iterable<Session>, encoded: string, except?: string): void {
    for (const session of list) {
      if (session.id !== except) push(session, encoded);
    }
  }

  function pushToAccount(account: string, encoded: string, except?: string): void {
    pushAll(sessions.of(account), encoded, except);
    cluster?.deliver({ kind: "account", account }, encoded);
  }

  function pushEveryone(encoded: string, except?: string): void {
    pushAll(sessions.all(), encoded, except);
    cluster?.deliver({ kind: "everyone" }, encoded);
  }

  return {
    push,
    pushAll,
    pushEveryone,
    pushToAccount,

    pushToMembers(group, encoded, except) {
      for (const account of group.members.keys()) pushAll(sessions.of(account), encoded, except);
      cluster?.deliver({ kind: "members", group: group.key }, encoded);
    },

    /**
     * Tells an account's contacts, those it shares a group or a direct conversation with, that it
     * came online or went offline. Not everyone: at a mass login that is n² events (most of a
     * session's memory in benchmark E), and a terminal scrolling with strangers' logins helps
     * nobody; `/who` lists everyone online.
     */
    pushPresence(session, state) {
      const event: PresenceEvent = { type: "presence", login: session.login, state, ts: now() };
      const contacts = new Set(store.directContacts(session.account));
      for (const group of groups.groupsOf(session.account)) {
        for (const member of group.members.keys()) contacts.add(member);
      }
      contacts.delete(session.account);
      if (contacts.size === 0) return;
      const encoded = JSON.stringify(event);
      for (const account of contacts) pushToAccount(account, encoded);
    },

    broadcast(text) {
      const event: NoticeEvent = { type: "notice", text, ts: now() };
      pushEveryone(JSON.stringify(event));
    },
  };
}
