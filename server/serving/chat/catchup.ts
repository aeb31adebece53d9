// Sessions coming and going: presence, the catch-up a session asks for at login, messages kept while
// its account was away, and sessions too slow to read, which catch up from the store later.

import { nameKey, type NoticeEvent } from "../../../protocol/mod.ts";
import type { DeletedLoginTable } from "../deleted_logins.ts";
import { encodeMessage } from "../message_event.ts";
import type { Session } from "../sessions.ts";
import { conversationOf, type StoredMessage } from "../store/store.ts";
import type { PartDeps } from "./deps.ts";
import type { FanOut } from "./fan_out.ts";

/** Most messages sent as catch-up at once (after a reconnect or a lag); `/history` pages further. */
export const MAX_CATCHUP = 2000;
/** A lagging session whose catch-up went out without a failure for this long has caught up. */
const LAG_SETTLE_MS = 2000;
/**
 * Direct messages kept while offline that one login delivers: 500 of at most 4,000 characters fit
 * in the outbox's budget for one peer in one turn beside a full catch-up (`PEER_TURN_CHARS`), and
 * one login of an account with 40,000 waiting no longer stalls everyone else.
 */
const MAX_UNDELIVERED = 500;

/** What the broker calls as sessions start, end and lag. */
export interface Catchup {
  /** What an account missed after message `after` (up to MAX_CATCHUP + 1, to tell a capped list). */
  missedBy(account: string, after: number): StoredMessage[];
  /**
   * A session logged in: presence for others, the catch-up it asked for, and the direct messages
   * kept while the account was away (those already in the catch-up are not sent twice).
   */
  sessionStarted(session: Session, first: boolean, catchup?: readonly StoredMessage[]): void;
  /** A send to the session failed because its queue is full: stop sending and remember where. */
  lagged(session: Session, firstUndelivered: number): void;
  /**
   * Retries lagging sessions with a catch-up from the store; returns those lagging since before
   * `giveUpBefore`, for the broker to end.
   */
  retryLagging(giveUpBefore: number): Session[];
  /** A session ended: presence for others when it was the account's last. */
  sessionEnded(session: Session, last: boolean, reason?: string): void;
  /**
   * Cluster: the stored messages after `after` up to `upTo` never arrived from the node that
   * stored them; each goes from the store to this node's sessions that should see it, as catch-up,
   * in id order. Returns how many messages were read.
   */
  fillFromStore(after: number, upTo: number): number;
}

/** Builds the session flow over the store and the fan-out. */
export function createCatchup(deps: PartDeps, fanOut: FanOut): Catchup {
  const { store, sessions, groups, log, now, events, userOf } = deps;

  function missedBy(account: string, after: number): StoredMessage[] {
    const groupConvs = groups.groupsOf(account).map((g) =>
      conversationOf({ scope: "group", groupKey: g.key, created: g.created })
    );
    return store.missed(after, { key: account, groupConvs }, MAX_CATCHUP + 1);
  }

  /** Offers a lagging session a catch-up: if its queue is still full, the send fails again. */
  function offerCatchup(session: Session, after: number): void {
    // Replies lost to the full queue first: the requests they answer came before what is missed.
    const replies = session.pendingReplies;
    session.pendingReplies = undefined;
    for (const reply of replies?.parts ?? []) fanOut.push(session, reply);
    const missed = missedBy(session.account, after);
    for (const message of missed.slice(0, MAX_CATCHUP)) {
      fanOut.push(session, catchupOf(session, message, deps.deletedLogins));
    }
    if (missed.length > MAX_CATCHUP) {
      const event: NoticeEvent = {
        type: "notice",
        text:
          `More than ${MAX_CATCHUP} messages were missed while this session lagged; /history has the rest`,
        ts: now(),
      };
      fanOut.push(session, JSON.stringify(event));
    }
  }

  return {
    missedBy,

    fillFromStore(after, upTo) {
      const messages = store.messagesBetween(after, upTo);
      for (const message of messages) {
        for (const session of recipientsOf(deps, message)) {
          fanOut.push(session, catchupOf(session, message, deps.deletedLogins));
        }
      }
      return messages.length;
    },

    lagged(session, firstUndelivered) {
      const after = Math.max(0, firstUndelivered - 1);
      const lag = session.lagging;
      if (lag) {
        // The same episode goes on: a catch-up offered since did not get through either.
        lag.after = lag.active ? Math.min(lag.after, after) : after;
        lag.last = now();
        lag.active = true;
        return;
      }
      session.lagging = { since: now(), last: now(), after, active: true };
      log.warn("session_lagging", { login: session.login, after });
    },

    retryLagging(giveUpBefore) {
      const hopeless: Session[] = [];
      for (const session of sessions.all()) {
        const lag = session.lagging;
        if (!lag) continue;
        if (!lag.active) {
          // The catch-up offered last time went out without a failure since: the episode is over.
          if (now() - lag.last >= LAG_SETTLE_MS) {
            session.lagging = undefined;
            log.info("session_caught_up", { login: session.login });
          }
          continue;
        }
        if (lag.since < giveUpBefore) {
          hopeless.push(session);
          continue;
        }
        lag.active = false;
        lag.last = now();
        offerCatchup(session, lag.after);
      }
      return hopeless;
    },

    sessionStarted(session, first, catchup = []) {
      if (first) fanOut.pushPresence(session, "online");
      const caughtUp = new Set<number>();
      for (const message of catchup.slice(0, MAX_CATCHUP)) {
        caughtUp.add(message.id);
        fanOut.push(session, catchupOf(session, message, deps.deletedLogins));
      }
      const kept = store.takeUndelivered(session.account, MAX_UNDELIVERED);
      for (const message of kept) {
        if (!caughtUp.has(message.id)) {
          const fromDeleted = deps.deletedLogins.authorDeleted(message.from, message.id);
          fanOut.push(session, encodeMessage(message, { delayed: true, fromDeleted }));
        }
      }
      if (kept.length === MAX_UNDELIVERED) {
        const notice: NoticeEvent = {
          type: "notice",
          ts: now(),
          text: `${MAX_UNDELIVERED} direct messages that came while you were away are shown; ` +
            "any more come at your next login, and /history has them all",
        };
        fanOut.push(session, JSON.stringify(notice));
      }
      const actor = { login: session.login, session: session.id };
      events.emit("login", { ...actor, first }, () => userOf(actor));
    },

    sessionEnded(session, last, reason = "logout") {
      if (last) fanOut.pushPresence(session, "offline");
      const actor = { login: session.login, session: session.id };
      events.emit("logout", { ...actor, last, reason }, () => userOf(actor));
    },
  };
}

/** This node's sessions that should get `message`, as a live delivery would have reached. */
function recipientsOf(
  { sessions, groups }: Pick<PartDeps, "sessions" | "groups">,
  message: StoredMessage,
): Session[] {
  if (message.scope === "public") return [...sessions.all()];
  if (message.scope === "direct") {
    const from = nameKey(message.from);
    const to = nameKey(message.to ?? message.from);
    return from === to ? [...sessions.of(from)] : [...sessions.of(from), ...sessions.of(to)];
  }
  const group = message.group === undefined ? undefined : groups.get(message.group);
  const conv = group &&
    conversationOf({ scope: "group", groupKey: group.key, created: group.created });
  if (!group || conv !== message.conv) return [];
  return [...group.members.keys()].flatMap((account) => [...sessions.of(account)]);
}

/** A missed message as its catch-up event: the account's own sends carry their client's cid. */
function catchupOf(
  session: Session,
  message: StoredMessage,
  deleted: DeletedLoginTable,
): string {
  const own = message.cid !== undefined && nameKey(message.from) === session.account;
  // The stored cid is `<send number>:<cid>` (see sends.ts): the client knows only the cid.
  const cid = own ? message.cid!.slice(message.cid!.indexOf(":") + 1) : undefined;
  const fromDeleted = deleted.authorDeleted(message.from, message.id);
  return encodeMessage(message, { catchup: true, cid, fromDeleted });
}
