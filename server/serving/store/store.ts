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
  addMessage(message: Omit<StoredMessage, "id">): AddedMessage;
  /** The highest message id given so far (0 for none). */
  readonly lastMessageId: number;
  messageCount(): number;
  /** The newest `limit` messages of a conversation below id `before`, oldest first. */
  history(conv: string, before: number, limit: number): StoredMessage[];
  /**
   * What an account missed after message `after`, oldest first, at most `limit`: the public
   * room, the given group conversations, and its direct conversations.
   */
  missed(
    after: number,
    account: { key: string; groupConvs: readonly string[] },
    limit: number,
  ): StoredMessage[];
  /** The accounts `account` has a direct conversation with, itself left out. */
  directContacts(account: string): string[];

  // ---- duplicate suppression ----

  /** The client message ids among the newest `count` messages, oldest first. */
  recentClientIds(count: number): RecentClientId[];

  // ---- undelivered messages ----

  /** Keeps a stored message for an account that is offline, until it logs in (once per message). */
  addUndelivered(account: string, message: AddedMessage): void;
  /** Returns and forgets the messages kept for an account while it was offline, oldest first. */
  takeUndelivered(account: string): StoredMessage[];

  // ---- plugin storage ----

  /** A plugin's value under `key` (as the plugin stored it, a JSON text), if any. */
  pluginValue(plugin: string, key: string): string | undefined;
  /** Stores a plugin's value under `key`, replacing what was there. */
  setPluginValue(plugin: string, key: string, value: string): void;
  /** Forgets a plugin's value under `key`; nothing happens when there is none. */
  deletePluginValue(plugin: string, key: string): void;
  /** A plugin's keys that start with `prefix`, sorted, at most `limit` of them. */
  pluginKeys(plugin: string, prefix: string, limit: number): string[];

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
