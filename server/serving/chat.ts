// The chat services plugins call: store a message, fan it out, manage groups, read history.
// Every event is encoded once and queued in the outbox for each recipient session.

import {
  type GroupEvent,
  isValidName,
  MAX_TEXT_LENGTH,
  NAME_RULE,
  nameKey,
  type NoticeEvent,
  type PresenceEvent,
} from "../../protocol/mod.ts";
import type {
  Caller,
  ChatServices,
  DeliverHook,
  GroupInfo,
  HistoryQuery,
  HistoryTarget,
  OutgoingMessage,
  Sent,
} from "../../protocol/plugin.ts";
import { ChatError } from "../errors.ts";
import type { Group, GroupTable } from "./groups.ts";
import type { Logger } from "../log.ts";
import type { Outbox } from "./outbox.ts";
import {
  hashPassword,
  newToken,
  TOKEN_LIFETIME_MS,
  tokenHash,
  verifyPassword,
} from "./passwords.ts";
import type { Session, SessionTable } from "./sessions.ts";
import type { LoginThrottle } from "./throttle.ts";
import { encodeMessage, toEvent } from "./message_event.ts";
import { RecentSends } from "./recent_sends.ts";
import {
  type AddedMessage,
  conversationOf,
  type Store,
  type StoredMessage,
} from "./store/store.ts";

/** Messages of a group shown to someone who just joined it. */
const JOIN_HISTORY = 20;
/** Most messages sent as catch-up at once (after a reconnect or a lag); `/history` pages further. */
export const MAX_CATCHUP = 2000;
/** A lagging session whose catch-up went out without a failure for this long has caught up. */
const LAG_SETTLE_MS = 2000;
/**
 * Client message ids remembered to drop re-sent duplicates: a re-send is recognised while fewer than
 * this many other sends with an id came after its original (up to twice as many, see RecentSends);
 * an older re-send is stored again. A client re-sends within seconds, so this is minutes of traffic.
 */
const DEDUP_WINDOW = 100_000;

/** What the chat core works with. */
export interface ChatDeps {
  store: Store;
  sessions: SessionTable;
  groups: GroupTable;
  outbox: Outbox;
  hooks: DeliverHook[];
  log: Logger;
  now: () => number;
  /** Shared with logins: wrong current passwords in `/passwd` count as failed logins. */
  throttle: LoginThrottle;
  /** Most groups one account may belong to. */
  maxGroupsPerUser: number;
}

/** Counters the operator's status shows. */
export interface ChatStats {
  /** Chat messages stored and fanned out. */
  messages: number;
  /** Events queued for sessions: messages, presence, group events, notices and history replays. */
  deliveries: number;
}

/** The chat services plus what the broker needs to run sessions. */
export interface ChatCore extends ChatServices {
  readonly stats: ChatStats;
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
  sessionEnded(session: Session, last: boolean): void;
  /** Sends a notice to every session. */
  broadcast(text: string): void;
  /** Forgets every group in memory after the identity store was cleared. */
  groupsCleared(): void;
  /** The turn's commit failed: forget what it remembered for duplicate suppression. */
  commitFailed(): void;
}

/** Builds the chat core over its state, store and outbox. */
export function createChatCore(deps: ChatDeps): ChatCore {
  const { store, sessions, groups, outbox, hooks, log, now, throttle } = deps;
  const stats: ChatStats = { messages: 0, deliveries: 0 };
  /** Sent messages by account, client message id and send number within the command. */
  const recentSends = new RecentSends<Sent>(DEDUP_WINDOW);
  const sendsInCall = new WeakMap<Caller, number>();
  for (const row of store.recentClientIds(DEDUP_WINDOW)) {
    recentSends.remember(`${nameKey(row.sender)}\u0000${row.cid}`, { id: row.id, ts: row.ts });
  }

  for (const stored of store.loadGroups()) {
    const owner = stored.members.find((m) => m.account === stored.ownerKey) ?? stored.members[0];
    if (!owner) continue;
    const group = groups.create(
      stored.name,
      { key: owner.account, login: owner.login },
      stored.created,
    );
    group.ownerKey = stored.ownerKey;
    for (const member of stored.members) groups.addMember(group, member.account, member.login);
  }

  function push(session: Session, encoded: string): void {
    if (session.lagging?.active) return; // it catches up from the store when its queue drains
    outbox.push(session, encoded);
    stats.deliveries++;
  }

  /**
   * The stored form of a send's client id: the command's cid and the send's number within the
   * command (a command may send several messages). Undefined when the command has no cid.
   */
  function storedCid(from: Caller): string | undefined {
    if (from.cid === undefined) return undefined;
    const n = sendsInCall.get(from) ?? 0;
    sendsInCall.set(from, n + 1);
    return `${n}:${from.cid}`; // the send number first: it has no ':' of its own
  }

  /** The key under which a send is remembered: account and stored cid. */
  function sendKey(from: Caller, cid: string | undefined): string | undefined {
    return cid === undefined ? undefined : `${nameKey(from.login)}\u0000${cid}`;
  }

  function remember(key: string | undefined, sent: Sent): Sent {
    if (key === undefined) return sent;
    recentSends.remember(key, sent);
    return sent;
  }

  function pushAll(list: Iterable<Session>, encoded: string, except?: string): void {
    for (const session of list) {
      if (session.id !== except) push(session, encoded);
    }
  }

  /** The sending session to leave out of a message's delivery, unless it asked for echoes. */
  function unlessEcho(from: Caller): string | undefined {
    return sessions.get(from.session)?.echo ? undefined : from.session;
  }

  function pushToAccount(account: string, encoded: string, except?: string): void {
    pushAll(sessions.of(account), encoded, except);
  }

  function pushToMembers(group: Group, encoded: string, except?: string): void {
    for (const account of group.members.keys()) pushToAccount(account, encoded, except);
  }

  /**
   * Tells an account's contacts, those it shares a group or a direct conversation with, that it came
   * online or went offline. Not everyone: at a mass login that is n² events (most of a session's
   * memory in benchmark E), and a terminal scrolling with strangers' logins helps nobody; `/who`
   * lists everyone online.
   */
  function pushPresence(session: Session, state: PresenceEvent["state"]): void {
    const event: PresenceEvent = { type: "presence", login: session.login, state, ts: now() };
    const contacts = new Set(store.directContacts(session.account));
    for (const group of groups.groupsOf(session.account)) {
      for (const member of group.members.keys()) contacts.add(member);
    }
    contacts.delete(session.account);
    if (contacts.size === 0) return;
    const encoded = JSON.stringify(event);
    for (const account of contacts) pushToAccount(account, encoded);
  }

  /** A missed message as its catch-up event: the account's own sends carry their client's cid. */
  function catchupOf(session: Session, message: StoredMessage): string {
    const own = message.cid !== undefined && nameKey(message.from) === session.account;
    // The stored cid is `<send number>:<cid>` (see storedCid): the client knows only the cid.
    const cid = own ? message.cid!.slice(message.cid!.indexOf(":") + 1) : undefined;
    return encodeMessage(message, { catchup: true, cid });
  }

  function groupEvent(
    group: Group,
    action: GroupEvent["action"],
    login: string,
    by?: string,
  ): string {
    const event: GroupEvent = { type: "group", group: group.name, action, login, by, ts: now() };
    return JSON.stringify(event);
  }

  function requireGroup(name: string, action: string): Group {
    const group = groups.get(name);
    if (!group) {
      throw new ChatError("no_such_group", `Cannot ${action} group "${name}": no such group`);
    }
    return group;
  }

  function requireMember(group: Group, caller: Caller, action: string): void {
    if (!group.members.has(nameKey(caller.login))) {
      throw new ChatError(
        "not_member",
        `Cannot ${action} group "${group.name}": you are not a member`,
      );
    }
  }

  function requireRoomForGroup(account: string, action: string): void {
    if (groups.groupsOf(account).length >= deps.maxGroupsPerUser) {
      throw new ChatError(
        "limit_reached",
        `Cannot ${action}: you are in ${deps.maxGroupsPerUser} groups, the most allowed`,
      );
    }
  }

  function requireOwner(group: Group, caller: Caller, action: string): void {
    if (group.ownerKey !== nameKey(caller.login)) {
      throw new ChatError(
        "forbidden",
        `Cannot ${action} in group "${group.name}": only its owner ${group.owner} can`,
      );
    }
  }

  /**
   * Runs the deliver hooks on a new message, checks its text and stores it. The draft is built by
   * the caller as the stored fields in order and is the store's input as is (no copies on this path).
   */
  function storeMessage(draft: Omit<StoredMessage, "id">): AddedMessage {
    for (const hook of hooks) {
      const message: OutgoingMessage = { scope: draft.scope, from: draft.from, text: draft.text };
      if (draft.to !== undefined) message.to = draft.to;
      if (draft.group !== undefined) message.group = draft.group;
      const verdict = hook(message);
      if (!verdict) continue;
      if ("drop" in verdict) throw new ChatError("blocked", `Cannot send message: ${verdict.drop}`);
      draft.text = verdict.text;
    }
    if (draft.text.length === 0) {
      throw new ChatError("bad_arguments", "Cannot send message: the text is empty");
    }
    if (draft.text.length > MAX_TEXT_LENGTH) {
      throw new ChatError(
        "too_large",
        `Cannot send message: text over ${MAX_TEXT_LENGTH} characters`,
      );
    }
    stats.messages++;
    return store.addMessage(draft);
  }

  function accountLogin(login: string): string | undefined {
    const key = nameKey(login);
    return sessions.of(key)[0]?.login ?? store.account(key)?.login;
  }

  function info(group: Group): GroupInfo {
    return {
      name: group.name,
      owner: group.owner,
      members: group.members.size,
      created: group.created,
    };
  }

  const core: ChatCore = {
    stats,

    sendPublic(from, text, opts = {}) {
      const cid = storedCid(from);
      const key = sendKey(from, cid);
      const earlier = key && recentSends.get(key);
      if (earlier) return earlier;
      const stored = storeMessage({
        ts: now(),
        conv: "p",
        scope: "public",
        from: from.login,
        to: undefined,
        group: undefined,
        action: opts.action === true,
        text,
        cid,
      });
      pushAll(sessions.all(), stored.event, unlessEcho(from));
      return remember(key, sent(stored));
    },

    sendDirect(from, to, text, opts = {}) {
      const toKey = nameKey(to);
      const recipient = accountLogin(to);
      if (!recipient) throw new ChatError("no_such_user", `Cannot send to "${to}": no such user`);
      const cid = storedCid(from);
      const key = sendKey(from, cid);
      const earlier = key && recentSends.get(key);
      if (earlier) return earlier;
      const fromKey = nameKey(from.login);
      const conv = conversationOf({ scope: "direct", a: fromKey, b: toKey });
      const stored = storeMessage({
        ts: now(),
        conv,
        scope: "direct",
        from: from.login,
        to: recipient,
        group: undefined,
        action: opts.action === true,
        text,
        cid,
      });
      const online = sessions.of(toKey);
      if (online.length === 0) store.addUndelivered(toKey, stored);
      pushAll(online, stored.event, unlessEcho(from));
      if (toKey !== fromKey) pushToAccount(fromKey, stored.event, unlessEcho(from));
      return remember(key, online.length === 0 ? { ...sent(stored), queued: true } : sent(stored));
    },

    sendGroup(from, name, text, opts = {}) {
      const group = requireGroup(name, "send to");
      requireMember(group, from, "send to");
      const cid = storedCid(from);
      const key = sendKey(from, cid);
      const earlier = key && recentSends.get(key);
      if (earlier) return earlier;
      const conv = conversationOf({ scope: "group", groupKey: group.key, created: group.created });
      const stored = storeMessage({
        ts: now(),
        conv,
        scope: "group",
        from: from.login,
        to: undefined,
        group: group.name,
        action: opts.action === true,
        text,
        cid,
      });
      pushToMembers(group, stored.event, unlessEcho(from));
      return remember(key, sent(stored));
    },

    notify(login, text) {
      const event: NoticeEvent = { type: "notice", text, ts: now() };
      pushToAccount(nameKey(login), JSON.stringify(event));
    },

    broadcast(text) {
      const event: NoticeEvent = { type: "notice", text, ts: now() };
      pushAll(sessions.all(), JSON.stringify(event));
    },

    online: () => sessions.online(),
    account: accountLogin,

    groups: () => groups.list().map(info),
    group(name) {
      const group = groups.get(name);
      return group ? info(group) : undefined;
    },
    members: (name) => [...requireGroup(name, "list members of").members.values()].sort(),
    groupsOf: (login) => groups.groupsOf(nameKey(login)).map((g) => g.name),

    createGroup(owner, name) {
      if (!isValidName(name)) {
        throw new ChatError(
          "invalid_name",
          `Cannot create group "${name}": names are ${NAME_RULE}`,
        );
      }
      if (groups.get(name)) {
        throw new ChatError("group_exists", `Cannot create group "${name}": it already exists`);
      }
      const ownerKey = nameKey(owner.login);
      requireRoomForGroup(ownerKey, `create group "${name}"`);
      const group = groups.create(name, { key: ownerKey, login: owner.login }, now());
      store.createGroup({ key: group.key, name: group.name, ownerKey, created: group.created });
      store.addMember(group.key, ownerKey, owner.login, group.created);
      // Groups are listed to everyone, so everyone hears of new and deleted ones.
      pushAll(sessions.all(), groupEvent(group, "create", owner.login), owner.session);
      log.info("group_create", { group: group.name, owner: owner.login });
      return info(group);
    },

    joinGroup(caller, name) {
      const group = requireGroup(name, "join");
      const key = nameKey(caller.login);
      if (group.members.has(key)) {
        throw new ChatError(
          "already_member",
          `Cannot join group "${group.name}": you are already a member`,
        );
      }
      requireRoomForGroup(key, `join group "${group.name}"`);
      groups.addMember(group, key, caller.login);
      store.addMember(group.key, key, caller.login, now());
      pushToMembers(group, groupEvent(group, "join", caller.login), caller.session);
      const recent = store.history(
        conversationOf({ scope: "group", groupKey: group.key, created: group.created }),
        Number.MAX_SAFE_INTEGER,
        JOIN_HISTORY,
      );
      const mine = sessions.get(caller.session);
      if (mine) {
        for (const message of recent) push(mine, encodeMessage(message, { history: true }));
      }
      return info(group);
    },

    leaveGroup(caller, name) {
      const group = requireGroup(name, "leave");
      requireMember(group, caller, "leave");
      const key = nameKey(caller.login);
      pushToMembers(group, groupEvent(group, "leave", caller.login), caller.session);
      const outcome = groups.removeMember(group, key);
      if (outcome.deleted) {
        store.deleteGroup(group.key);
        pushAll(sessions.all(), groupEvent(group, "delete", caller.login), caller.session);
        log.info("group_delete", { group: group.name, reason: "empty" });
        return;
      }
      store.removeMember(group.key, key);
      if (outcome.newOwner) {
        store.setOwner(group.key, outcome.newOwner.key);
        pushToMembers(group, groupEvent(group, "owner", outcome.newOwner.login));
      }
    },

    kickFromGroup(owner, name, login) {
      const group = requireGroup(name, "kick from");
      requireOwner(group, owner, "kick");
      const key = nameKey(login);
      const member = group.members.get(key);
      if (member === undefined) {
        throw new ChatError(
          "not_member",
          `Cannot kick "${login}" from group "${group.name}": not a member`,
        );
      }
      if (key === group.ownerKey) {
        throw new ChatError(
          "forbidden",
          `Cannot kick "${login}" from group "${group.name}": that is you; use /group leave`,
        );
      }
      pushToMembers(group, groupEvent(group, "kick", member, owner.login), owner.session);
      groups.removeMember(group, key);
      store.removeMember(group.key, key);
      log.info("group_kick", { group: group.name, login: member, by: owner.login });
    },

    transferGroup(owner, name, login) {
      const group = requireGroup(name, "hand over");
      requireOwner(group, owner, "hand over ownership");
      const key = nameKey(login);
      const member = group.members.get(key);
      if (member === undefined) {
        throw new ChatError(
          "not_member",
          `Cannot hand group "${group.name}" to "${login}": not a member`,
        );
      }
      group.ownerKey = key;
      group.owner = member;
      store.setOwner(group.key, key);
      pushToMembers(group, groupEvent(group, "owner", member, owner.login), owner.session);
    },

    history(caller, target, query) {
      return readHistory(caller, target, query).map((m) => toEvent(m, { history: true }));
    },

    async changePassword(caller, current, next) {
      const key = nameKey(caller.login);
      const wait = throttle.waitFor(key, now());
      if (wait > 0) {
        throw new ChatError(
          "login_throttled",
          `Cannot change password: too many wrong passwords; retry in ${Math.ceil(wait / 1000)} s`,
        );
      }
      const account = store.account(key);
      if (!account) {
        throw new ChatError(
          "no_such_user",
          `Cannot change password of "${caller.login}": no such account`,
        );
      }
      if (!(await verifyPassword(current, account.password))) {
        throttle.fail(key, now());
        log.warn("passwd_refused", { login: caller.login });
        throw new ChatError(
          "wrong_password",
          "Cannot change password: the current password is wrong",
        );
      }
      if (next.length === 0) {
        throw new ChatError("bad_password", "Cannot change password: the new password is empty");
      }
      throttle.succeed(key);
      store.setPassword(key, await hashPassword(next));
      store.dropTokens(key);
      // Every other session must log in again; the one that changed the password goes on.
      const token = newToken();
      store.saveToken(tokenHash(token), key, now(), now() + TOKEN_LIFETIME_MS);
      log.info("passwd", { login: caller.login });
      return token;
    },

    missedBy(account, after) {
      const groupConvs = groups.groupsOf(account).map((g) =>
        conversationOf({ scope: "group", groupKey: g.key, created: g.created })
      );
      return store.missed(after, { key: account, groupConvs }, MAX_CATCHUP + 1);
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
        // Offer a catch-up: if the queue is still full, its send fails and `lagged` runs again.
        lag.active = false;
        lag.last = now();
        const missed = core.missedBy(session.account, lag.after);
        for (const message of missed.slice(0, MAX_CATCHUP)) {
          push(session, catchupOf(session, message));
        }
        if (missed.length > MAX_CATCHUP) {
          const event: NoticeEvent = {
            type: "notice",
            text:
              `More than ${MAX_CATCHUP} messages were missed while this session lagged; /history has the rest`,
            ts: now(),
          };
          push(session, JSON.stringify(event));
        }
      }
      return hopeless;
    },

    sessionStarted(session, first, catchup = []) {
      if (first) pushPresence(session, "online");
      const caughtUp = new Set<number>();
      for (const message of catchup.slice(0, MAX_CATCHUP)) {
        caughtUp.add(message.id);
        push(session, catchupOf(session, message));
      }
      for (const message of store.takeUndelivered(session.account)) {
        if (!caughtUp.has(message.id)) push(session, encodeMessage(message, { delayed: true }));
      }
    },

    sessionEnded(session, last) {
      if (last) pushPresence(session, "offline");
    },

    groupsCleared() {
      groups.clear();
    },

    commitFailed() {
      // Some remembered sends were never stored: forget them all rather than acknowledge a ghost.
      recentSends.clear();
    },
  };

  function readHistory(
    caller: Caller,
    target: HistoryTarget,
    query: HistoryQuery,
  ): StoredMessage[] {
    const before = query.before ?? Number.MAX_SAFE_INTEGER;
    switch (target.scope) {
      case "public":
        return store.history("p", before, query.limit);
      case "direct": {
        if (!accountLogin(target.with)) {
          throw new ChatError(
            "no_such_user",
            `Cannot read history with "${target.with}": no such user`,
          );
        }
        const conv = conversationOf({
          scope: "direct",
          a: nameKey(caller.login),
          b: nameKey(target.with),
        });
        return store.history(conv, before, query.limit);
      }
      case "group": {
        const group = requireGroup(target.group, "read history of");
        requireMember(group, caller, "read history of");
        return store.history(
          conversationOf({ scope: "group", groupKey: group.key, created: group.created }),
          before,
          query.limit,
        );
      }
    }
  }

  return core;
}

function sent(stored: StoredMessage): Sent {
  return { id: stored.id, ts: stored.ts };
}
