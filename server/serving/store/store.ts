// The `Store` seam: everything the server keeps on disk, as one declared interface.
// The SQLite store (sqlite.ts) implements it; contract.ts is the suite every implementation passes.

import type { Scope } from "../../../protocol/mod.ts";

/**
 * Persistent server state. Every method is synchronous: the serving thread calls the store inside
 * an event-loop turn and acknowledges nothing until `commit()` returned (the commit discipline:
 * writes of one turn share one transaction; replies and deliveries of that turn go out after it).
 *
 * Reads see the open transaction's own writes. The first write of a turn opens the transaction and
 * calls `StoreOptions.onWrite`, so the caller can be sure a commit follows.
 */
export interface Store {
  // ---- transactions ----

  /** Commits the open transaction, if any: call before acknowledging what it wrote. */
  commit(): void;
  /** Abandons the open transaction, if any, messages not yet written included. */
  rollback(): void;
  /** Commits the open transaction and releases the store. */
  close(): void;

  // ---- accounts ----

  /** The account with this key (the case-folded login), if any. */
  account(key: string): AccountRow | undefined;
  /** Adds an account; throws when the key is taken. */
  createAccount(row: AccountRow): void;
  /** Replaces an account's password hash. */
  setPassword(key: string, password: string): void;
  accountCount(): number;
  /**
   * Wipes the identity store: accounts, tokens, groups, memberships, undelivered messages, and
   * the direct and group history a future account of the same name must not read. The public
   * room's history stays. Returns how many accounts went.
   */
  clearIdentities(): number;

  // ---- session tokens (stored by hash, never in clear) ----

  saveToken(hash: string, account: string, created: number, expires: number): void;
  /** The account a token hash belongs to, when it exists and has not expired at `now`. */
  tokenAccount(hash: string, now: number): string | undefined;
  /** Forgets every token of an account. */
  dropTokens(account: string): void;
  /** Forgets one token by its hash (a logout revokes the token its session used). */
  dropToken(hash: string): void;

  // ---- groups and memberships ----

  /** Every group, by key, each with its members in join order. */
  loadGroups(): StoredGroup[];
  createGroup(group: { key: string; name: string; ownerKey: string; created: number }): void;
  /** Deletes a group and its memberships. */
  deleteGroup(key: string): void;
  setOwner(key: string, ownerKey: string): void;
  /** Adds a member; a member already there keeps its place. */
  addMember(group: string, account: string, login: string, joined: number): void;
  removeMember(group: string, account: string): void;

  // ---- messages and history ----

  /**
   * Stores a message under the next id and returns it, with its event encoded once
   * (`encodeMessage`) for history and delivery. Ids only grow, also across restarts and pruning.
   */
  addMessage(message: NewMessage): AddedMessage;
  /** The highest message id given so far (0 for none). */
  readonly lastMessageId: number;
  messageCount(): number;
  /** The newest `limit` messages of a conversation below id `before`, oldest first. */
  history(conv: string, before: number, limit: number): StoredMessage[];
  /**
   * What an account missed after message `after`, oldest first, at most `limit`: the public
   * room, the given group conversations, and its direct conversations. Each carries its client
   * message id (`cid`) when it was stored with one: a client is not sent its own sends as missed.
   */
  missed(
    after: number,
    account: { key: string; groupConvs: readonly string[] },
    limit: number,
  ): StoredMessage[];
  /**
   * Every stored message with an id after `after` and up to `upTo`, in every conversation, oldest
   * first, each with its `cid`. The caller bounds the range (at most `upTo - after` messages): a
   * cluster node reads the ids another node's relay never brought it.
   */
  messagesBetween(after: number, upTo: number): StoredMessage[];
  /** The accounts `account` has a direct conversation with, itself left out. */
  directContacts(account: string): string[];

  // ---- duplicate suppression ----

  /** The client message ids among the newest `count` messages, oldest first. */
  recentClientIds(count: number): RecentClientId[];

  // ---- undelivered messages ----

  /** Keeps a stored message for an account that is offline, until it logs in (once per message). */
  addUndelivered(account: string, message: AddedMessage): void;
  /**
   * Returns and forgets the messages kept for an account while it was offline, oldest first: at
   * most `limit` of them (all without a limit); the rest stay kept for the next take.
   */
  takeUndelivered(account: string, limit?: number): StoredMessage[];
  /**
   * How many messages are kept for an account (added and not yet taken, pruned or deleted), this
   * turn's writes included; the server refuses direct messages to an account past a limit. Cheap
   * on the message path: a store keeps counts it read (exact across rollbacks). In a cluster a
   * turn that counts and then adds holds the message id lock from the count to its commit, so
   * two nodes cannot both see room for the last message.
   */
  undeliveredCount(account: string): number;

  // ---- plugin storage ----

  /** A plugin's value under `key` (as the plugin stored it, a JSON text), if any. */
  pluginValue(plugin: string, key: string): string | undefined;
  /** Stores a plugin's value under `key`, replacing what was there. */
  setPluginValue(plugin: string, key: string, value: string): void;
  /** Forgets a plugin's value under `key`; nothing happens when there is none. */
  deletePluginValue(plugin: string, key: string): void;
  /** A plugin's keys that start with `prefix`, sorted, at most `limit` of them. */
  pluginKeys(plugin: string, prefix: string, limit: number): string[];

  // ---- operator: account management, bans, invites, group policies ----

  /** Every account with what the operator's `user list` shows, ordered by key. */
  listAccounts(): AccountSummary[];
  /** One account's summary, if it exists. */
  accountSummary(key: string): AccountSummary | undefined;
  /** Sets an account's role. */
  setRole(key: string, role: Role): void;
  /** Records when an account was last seen (a login or a logout). */
  touchAccount(key: string, lastSeen: number): void;
  /**
   * Deletes an account and what was private to it: its tokens, memberships, undelivered messages,
   * and its direct conversations' history (for both sides). Group ownership is the caller's to
   * hand over first; the public room keeps its messages.
   */
  deleteAccount(key: string): void;
  /** Remembers a deleted login: its reservation, and which messages were the old holder's. */
  addDeletedLogin(row: DeletedLogin): void;
  /** Every deleted login ever recorded, oldest first (a login deleted twice appears twice). */
  deletedLogins(): DeletedLogin[];

  /** Adds a ban, replacing one on the same kind and target. */
  addBan(ban: Ban): void;
  /** Lifts a ban; false when there was none. */
  removeBan(kind: Ban["kind"], target: string): boolean;
  /** The bans in force at `now` (expired ones are left out and may be forgotten). */
  bans(now: number): Ban[];

  /** Stores a new invitation. */
  createInvite(invite: Invite): void;
  /**
   * Uses an invitation once, if it exists, is not expired at `now` and has uses left; one with no
   * uses left is forgotten. True when it was used.
   */
  useInvite(hash: string, now: number): boolean;
  /** The invitations usable at `now`. */
  invites(now: number): Invite[];

  /** Replaces a group's policy (topic, invite-only, bans, invitations). */
  setGroupPolicy(key: string, policy: GroupPolicy): void;
  /** Every group's policy that differs from the default, by group key. */
  groupPolicies(): Map<string, GroupPolicy>;

  // ---- retention ----

  /**
   * Deletes history past the retention limits (and undelivered copies of what goes), a turn's
   * messages in one conversation together, once the newest of them is past the limits.
   * Returns how many messages went.
   */
  prune(retention: Retention, now: number): number;
}

/** What every store is opened with, whatever its backend. */
export interface StoreOptions {
  /** Called when a turn's first write opens a transaction, so the caller can make sure a commit follows. */
  onWrite?: () => void;
}

/** A client message id of a recent message, for duplicate suppression after a restart. */
export interface RecentClientId {
  id: number;
  ts: number;
  sender: string;
  cid: string;
}

/** An account row. */
export interface AccountRow {
  key: string;
  login: string;
  password: string;
  created: number;
}

/** What an account may do: operators also moderate (kick, ban, broadcast) from their chat client. */
export type Role = "user" | "operator";

/** An account as the operator lists it. */
export interface AccountSummary {
  key: string;
  login: string;
  created: number;
  /** When it last logged in or out, if ever. */
  lastSeen?: number;
  role: Role;
}

/** A deleted login: reserved until `reservedUntil`; messages up to `lastMessageId` were its. */
export interface DeletedLogin {
  key: string;
  login: string;
  deleted: number;
  reservedUntil: number;
  lastMessageId: number;
}

/** A ban on a login or on a network address range. */
export interface Ban {
  kind: "login" | "address";
  /** A login key, or an address range in CIDR form (`203.0.113.0/24`, `2001:db8::/32`). */
  target: string;
  reason: string;
  /** Who banned: `operator` (console, `chatz admin`) or an operator's login. */
  by: string;
  created: number;
  /** When it ends; unset: until lifted. */
  expires?: number;
}

/** An invitation to register while registration is closed; the code itself is never stored. */
export interface Invite {
  /** SHA-256 of the code, hex. */
  hash: string;
  /** Registrations it still allows. */
  uses: number;
  created: number;
  expires?: number;
  by: string;
}

/** What a group's owner set beyond its members. */
export interface GroupPolicy {
  topic?: string;
  /** Only invited logins may join. */
  inviteOnly?: boolean;
  /** Banned accounts (keys) with the login as written, who may not join or rejoin. */
  banned?: Record<string, string>;
  /** Invited accounts (keys) not yet joined. */
  invited?: string[];
}

/** A stored chat message. `conv` names its conversation: see `conversationOf`. */
export interface StoredMessage {
  id: number;
  ts: number;
  conv: string;
  scope: Scope;
  from: string;
  to?: string;
  group?: string;
  action: boolean;
  text: string;
  /** The sender's client message id, when the client gave one. */
  cid?: string;
}

/**
 * A message to store. `cidStem` and `cidCounter`, when given, split its `cid` as `cidStem` +
 * `String(cidCounter)` (see pages.ts `splitClientId`): a page keeps a client's counting ids as one
 * run from them without reading the strings.
 */
export type NewMessage = Omit<StoredMessage, "id"> & { cidStem?: string; cidCounter?: number };

/** A message just stored, with its event encoded once for the page and for delivery. */
export type AddedMessage = StoredMessage & { event: string };

/** A group as stored, with its members in join order. */
export interface StoredGroup {
  key: string;
  name: string;
  ownerKey: string;
  created: number;
  members: { account: string; login: string }[];
}

/** How long history is kept; unset means forever. */
export interface Retention {
  maxMessages?: number;
  maxAgeMs?: number;
}

/**
 * The conversation key of a message: the history index is per conversation. A group's key holds its
 * creation time, so a new group that reuses a name never shows the old group's messages.
 */
export function conversationOf(
  target: { scope: "public" } | { scope: "group"; groupKey: string; created: number } | {
    scope: "direct";
    a: string;
    b: string;
  },
): string {
  switch (target.scope) {
    case "public":
      return "p";
    case "group":
      return `g:${target.groupKey}:${target.created}`;
    case "direct":
      return target.a < target.b ? `d:${target.a}:${target.b}` : `d:${target.b}:${target.a}`;
  }
}
