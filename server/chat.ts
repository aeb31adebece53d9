// The chat services plugins call: store a message, fan it out, manage groups, read history.
// Every event is encoded once and queued in the outbox for each recipient session.

import {
  type GroupEvent,
  isValidName,
  MAX_TEXT_LENGTH,
  type MessageEvent,
  NAME_RULE,
  nameKey,
  type NoticeEvent,
  type PresenceEvent,
} from "../protocol/mod.ts";
import type {
  Caller,
  ChatServices,
  DeliverHook,
  GroupInfo,
  HistoryQuery,
  HistoryTarget,
  OutgoingMessage,
  Sent,
} from "../protocol/plugin.ts";
import { ChatError } from "./errors.ts";
import type { Group, GroupTable } from "./groups.ts";
import type { Logger } from "./log.ts";
import type { Outbox } from "./outbox.ts";
import { hashPassword, verifyPassword } from "./passwords.ts";
import type { Session, SessionTable } from "./sessions.ts";
import type { LoginThrottle } from "./throttle.ts";
import { conversationOf, type Store, type StoredMessage } from "./store.ts";

/** Messages of a group shown to someone who just joined it. */
const JOIN_HISTORY = 20;

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
  /** Queues one encoded message for a session. */
  push(session: Session, encoded: string): void;
  /** A session logged in: presence for others, and the direct messages kept while the account was away. */
  sessionStarted(session: Session, first: boolean): void;
  /** A session ended: presence for others when it was the account's last. */
  sessionEnded(session: Session, last: boolean): void;
  /** Sends a notice to every session. */
  broadcast(text: string): void;
  /** Forgets every group in memory after the identity store was cleared. */
  groupsCleared(): void;
}

/** Builds the chat core over its state, store and outbox. */
export function createChatCore(deps: ChatDeps): ChatCore {
  const { store, sessions, groups, outbox, hooks, log, now, throttle } = deps;
  const stats: ChatStats = { messages: 0, deliveries: 0 };

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
    outbox.push(session, encoded);
    stats.deliveries++;
  }

  function pushAll(list: Iterable<Session>, encoded: string, except?: string): void {
    for (const session of list) {
      if (session.id !== except) push(session, encoded);
    }
  }

  function pushToAccount(account: string, encoded: string, except?: string): void {
    pushAll(sessions.of(account), encoded, except);
  }

  function pushToMembers(group: Group, encoded: string, except?: string): void {
    for (const account of group.members.keys()) pushToAccount(account, encoded, except);
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

  function requireOwner(group: Group, caller: Caller, action: string): void {
    if (group.ownerKey !== nameKey(caller.login)) {
      throw new ChatError(
        "forbidden",
        `Cannot ${action} in group "${group.name}": only its owner ${group.owner} can`,
      );
    }
  }

  /** Runs the deliver hooks, checks the text and stores the message. */
  function storeMessage(message: OutgoingMessage, conv: string, action: boolean): StoredMessage {
    let text = message.text;
    for (const hook of hooks) {
      const verdict = hook({ ...message, text });
      if (!verdict) continue;
      if ("drop" in verdict) throw new ChatError("blocked", `Cannot send message: ${verdict.drop}`);
      text = verdict.text;
    }
    if (text.length === 0) {
      throw new ChatError("bad_arguments", "Cannot send message: the text is empty");
    }
    if (text.length > MAX_TEXT_LENGTH) {
      throw new ChatError(
        "too_large",
        `Cannot send message: text over ${MAX_TEXT_LENGTH} characters`,
      );
    }
    stats.messages++;
    return store.addMessage({
      ts: now(),
      conv,
      scope: message.scope,
      from: message.from,
      to: message.to,
      group: message.group,
      action,
      text,
    });
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
    push,

    sendPublic(from, text, opts = {}) {
      const stored = storeMessage(
        { scope: "public", from: from.login, text },
        "p",
        opts.action === true,
      );
      pushAll(sessions.all(), encodeMessage(stored), from.session);
      return sent(stored);
    },

    sendDirect(from, to, text, opts = {}) {
      const toKey = nameKey(to);
      const recipient = accountLogin(to);
      if (!recipient) throw new ChatError("no_such_user", `Cannot send to "${to}": no such user`);
      const fromKey = nameKey(from.login);
      const conv = conversationOf({ scope: "direct", a: fromKey, b: toKey });
      const stored = storeMessage(
        { scope: "direct", from: from.login, to: recipient, text },
        conv,
        opts.action === true,
      );
      const encoded = encodeMessage(stored);
      const online = sessions.of(toKey);
      if (online.length === 0) store.addUndelivered(toKey, stored.id);
      pushAll(online, encoded, from.session);
      if (toKey !== fromKey) pushToAccount(fromKey, encoded, from.session);
      return online.length === 0 ? { ...sent(stored), queued: true } : sent(stored);
    },

    sendGroup(from, name, text, opts = {}) {
      const group = requireGroup(name, "send to");
      requireMember(group, from, "send to");
      const conv = conversationOf({ scope: "group", groupKey: group.key, created: group.created });
      const stored = storeMessage(
        { scope: "group", from: from.login, group: group.name, text },
        conv,
        opts.action === true,
      );
      pushToMembers(group, encodeMessage(stored), from.session);
      return sent(stored);
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
      log.info("passwd", { login: caller.login });
    },

    sessionStarted(session, first) {
      if (first) {
        const event: PresenceEvent = {
          type: "presence",
          login: session.login,
          state: "online",
          ts: now(),
        };
        pushAll(sessions.all(), JSON.stringify(event), session.id);
      }
      for (const message of store.takeUndelivered(session.account)) {
        push(session, encodeMessage(message, { delayed: true }));
      }
    },

    sessionEnded(session, last) {
      if (!last) return;
      const event: PresenceEvent = {
        type: "presence",
        login: session.login,
        state: "offline",
        ts: now(),
      };
      pushAll(sessions.all(), JSON.stringify(event));
    },

    groupsCleared() {
      groups.clear();
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

/** A stored message as the event clients receive. */
export function toEvent(
  m: StoredMessage,
  marks: { history?: boolean; delayed?: boolean } = {},
): MessageEvent {
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
  return event;
}

/**
 * A stored message encoded as its event, without building the event object: this runs once per
 * message on the message path. The output is exactly `JSON.stringify(toEvent(m, marks))`.
 */
export function encodeMessage(
  m: StoredMessage,
  marks: { history?: boolean; delayed?: boolean } = {},
): string {
  let json = `{"type":"message","id":${m.id},"ts":${m.ts},"scope":"${m.scope}","from":${
    JSON.stringify(m.from)
  },"text":${JSON.stringify(m.text)}`;
  if (m.to !== undefined) json += `,"to":${JSON.stringify(m.to)}`;
  if (m.group !== undefined) json += `,"group":${JSON.stringify(m.group)}`;
  if (m.action) json += `,"action":true`;
  if (marks.history) json += `,"history":true`;
  if (marks.delayed) json += `,"delayed":true`;
  return json + "}";
}
