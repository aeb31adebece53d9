// The embedded store: accounts, tokens, groups, memberships, message history and undelivered messages.
// The only module that speaks SQL. Writes of one event-loop turn share a transaction, committed before replies go out.

import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Scope } from "../protocol/mod.ts";

/** The schema, one entry per version; a store migrates itself forward on open. Never edit a shipped entry. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE accounts (
     key TEXT PRIMARY KEY, login TEXT NOT NULL, password TEXT NOT NULL, created INTEGER NOT NULL);
   CREATE TABLE tokens (
     hash TEXT PRIMARY KEY, account TEXT NOT NULL, created INTEGER NOT NULL, expires INTEGER NOT NULL);
   CREATE INDEX tokens_account ON tokens (account);
   CREATE TABLE groups (
     key TEXT PRIMARY KEY, name TEXT NOT NULL, owner TEXT NOT NULL, created INTEGER NOT NULL);
   CREATE TABLE members (
     grp TEXT NOT NULL, account TEXT NOT NULL, login TEXT NOT NULL, joined INTEGER NOT NULL,
     PRIMARY KEY (grp, account));
   CREATE TABLE messages (
     id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, conv TEXT NOT NULL, scope TEXT NOT NULL,
     sender TEXT NOT NULL, recipient TEXT, grp TEXT, action INTEGER NOT NULL, text TEXT NOT NULL);
   CREATE INDEX messages_conv ON messages (conv, id);
   CREATE TABLE undelivered (account TEXT NOT NULL, message INTEGER NOT NULL, PRIMARY KEY (account, message));`,
  // The highest message id ever given, so ids never repeat after pruning deletes the newest messages.
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);`,
  // v3: the client's message id, so a message re-sent after a lost acknowledgement is stored once.
  `ALTER TABLE messages ADD COLUMN cid TEXT;`,
];

/** Columns of a message row. */
const MESSAGE_COLUMNS = 10;
/** Rows per multi-row INSERT: 64 × 9 parameters stay far below SQLite's limit of 32766. */
const INSERT_CHUNK = 64;

/** How hard commits are pushed to disk: `normal` survives a killed process, `full` also a power cut. */
export type SyncMode = "normal" | "full";

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

/** The store's interface. */
export type Store = ReturnType<typeof openStore>;

/**
 * Opens (creating if needed) the store in `dir`. `onWrite` is called when a turn's first write
 * opens a transaction, so the caller can make sure a commit follows.
 */
export function openStore(dir: string, options: { sync?: SyncMode; onWrite?: () => void } = {}) {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "chatz.db");
  const db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec(`PRAGMA synchronous = ${options.sync === "full" ? "FULL" : "NORMAL"}`);
  db.exec("PRAGMA busy_timeout = 5000");
  migrate(db);

  const cache = new Map<string, StatementSync>();
  const sql = (text: string): StatementSync => {
    let statement = cache.get(text);
    if (!statement) cache.set(text, statement = db.prepare(text));
    return statement;
  };
  let inTransaction = false;
  const beginWrite = () => {
    if (inTransaction) return;
    db.exec("BEGIN");
    inTransaction = true;
    options.onWrite?.();
  };
  const write = (text: string, ...params: SQLInputValue[]) => {
    beginWrite();
    return sql(text).run(...params);
  };
  // Messages of a turn are inserted at commit, many rows per statement: one binding call per
  // INSERT_CHUNK rows instead of one per message is most of the store's cost on the message path.
  const pendingRows: SQLInputValue[] = [];
  const inserts = new Map<number, StatementSync>();
  const insertStatement = (rows: number) => {
    let statement = inserts.get(rows);
    if (!statement) {
      const values = Array(rows).fill("(?,?,?,?,?,?,?,?,?,?)").join(",");
      statement = db.prepare(
        `INSERT INTO messages (id, ts, conv, scope, sender, recipient, grp, action, text, cid) VALUES ${values}`,
      );
      inserts.set(rows, statement);
    }
    return statement;
  };
  /** Writes the buffered messages; every read of messages and every commit calls it first. */
  const flushMessages = () => {
    const total = pendingRows.length / MESSAGE_COLUMNS;
    for (let row = 0; row < total; row += INSERT_CHUNK) {
      const rows = Math.min(INSERT_CHUNK, total - row);
      const params = pendingRows.slice(row * MESSAGE_COLUMNS, (row + rows) * MESSAGE_COLUMNS);
      insertStatement(rows).run(...params);
    }
    pendingRows.length = 0;
  };
  let lastId = Math.max(
    Number((sql("SELECT max(id) AS id FROM messages").get()?.id as number | null) ?? 0),
    Number(sql("SELECT value FROM meta WHERE key = 'last_message_id'").get()?.value ?? 0),
  );

  const toMessage = (row: Record<string, SQLInputValue>): StoredMessage => ({
    id: Number(row.id),
    ts: Number(row.ts),
    conv: String(row.conv),
    scope: row.scope as Scope,
    from: String(row.sender),
    to: row.recipient === null ? undefined : String(row.recipient),
    group: row.grp === null ? undefined : String(row.grp),
    action: row.action === 1,
    text: String(row.text),
  });

  return {
    path,

    // ---- transactions ----

    /** Commits the open transaction, if any: call before acknowledging what it wrote. */
    commit(): void {
      if (!inTransaction) return;
      flushMessages();
      inTransaction = false;
      db.exec("COMMIT");
    },

    /** Abandons the open transaction, if any, buffered messages included. */
    rollback(): void {
      pendingRows.length = 0;
      if (!inTransaction) return;
      inTransaction = false;
      db.exec("ROLLBACK");
    },

    close(): void {
      this.commit();
      db.close();
    },

    // ---- accounts ----

    account(key: string): AccountRow | undefined {
      return sql("SELECT key, login, password, created FROM accounts WHERE key = ?").get(key) as
        | AccountRow
        | undefined;
    },

    createAccount(row: AccountRow): void {
      write(
        "INSERT INTO accounts (key, login, password, created) VALUES (?,?,?,?)",
        row.key,
        row.login,
        row.password,
        row.created,
      );
    },

    setPassword(key: string, password: string): void {
      write("UPDATE accounts SET password = ? WHERE key = ?", password, key);
    },

    accountCount(): number {
      return Number(sql("SELECT count(*) AS n FROM accounts").get()?.n ?? 0);
    },

    /**
     * Wipes the identity store: accounts, tokens, groups, memberships, undelivered messages, and
     * the direct and group history a future account of the same name must not read. The public
     * room's history stays.
     */
    clearIdentities(): number {
      flushMessages();
      const count = this.accountCount();
      for (const table of ["accounts", "tokens", "groups", "members", "undelivered"]) {
        write(`DELETE FROM ${table}`);
      }
      write("DELETE FROM messages WHERE conv <> 'p'");
      return count;
    },

    // ---- session tokens ----

    saveToken(hash: string, account: string, created: number, expires: number): void {
      write(
        "INSERT INTO tokens (hash, account, created, expires) VALUES (?,?,?,?)",
        hash,
        account,
        created,
        expires,
      );
    },

    /** The account a token hash belongs to, when it exists and has not expired. */
    tokenAccount(hash: string, now: number): string | undefined {
      const row = sql("SELECT account FROM tokens WHERE hash = ? AND expires > ?").get(hash, now);
      return row ? String(row.account) : undefined;
    },

    dropTokens(account: string): void {
      write("DELETE FROM tokens WHERE account = ?", account);
    },

    // ---- groups ----

    loadGroups(): StoredGroup[] {
      const groups = new Map<string, StoredGroup>();
      for (const row of sql("SELECT key, name, owner, created FROM groups ORDER BY key").all()) {
        groups.set(String(row.key), {
          key: String(row.key),
          name: String(row.name),
          ownerKey: String(row.owner),
          created: Number(row.created),
          members: [],
        });
      }
      const rows = sql("SELECT grp, account, login FROM members ORDER BY joined, rowid").all();
      for (const row of rows) {
        groups.get(String(row.grp))?.members.push({
          account: String(row.account),
          login: String(row.login),
        });
      }
      return [...groups.values()];
    },

    createGroup(group: { key: string; name: string; ownerKey: string; created: number }): void {
      write(
        "INSERT INTO groups (key, name, owner, created) VALUES (?,?,?,?)",
        group.key,
        group.name,
        group.ownerKey,
        group.created,
      );
    },

    deleteGroup(key: string): void {
      write("DELETE FROM members WHERE grp = ?", key);
      write("DELETE FROM groups WHERE key = ?", key);
    },

    setOwner(key: string, ownerKey: string): void {
      write("UPDATE groups SET owner = ? WHERE key = ?", ownerKey, key);
    },

    addMember(group: string, account: string, login: string, joined: number): void {
      write(
        "INSERT OR IGNORE INTO members (grp, account, login, joined) VALUES (?,?,?,?)",
        group,
        account,
        login,
        joined,
      );
    },

    removeMember(group: string, account: string): void {
      write("DELETE FROM members WHERE grp = ? AND account = ?", group, account);
    },

    // ---- messages ----

    /** Stores a message under the next id and returns it. */
    addMessage(message: Omit<StoredMessage, "id">): StoredMessage {
      beginWrite();
      const id = ++lastId;
      pendingRows.push(
        id,
        message.ts,
        message.conv,
        message.scope,
        message.from,
        message.to ?? null,
        message.group ?? null,
        message.action ? 1 : 0,
        message.text,
        message.cid ?? null,
      );
      return { id, ...message };
    },

    /** The newest `limit` messages of a conversation below `before`, oldest first. */
    history(conv: string, before: number, limit: number): StoredMessage[] {
      flushMessages();
      const rows = sql(
        "SELECT * FROM messages WHERE conv = ? AND id < ? ORDER BY id DESC LIMIT ?",
      ).all(conv, before, limit);
      return rows.map(toMessage).reverse();
    },

    /**
     * What an account missed after message `after`, oldest first, at most `limit`: the public
     * room, the given group conversations, and its direct messages either way.
     */
    missed(
      after: number,
      account: { login: string; groupConvs: readonly string[] },
      limit: number,
    ): StoredMessage[] {
      flushMessages();
      const convs = ["p", ...account.groupConvs];
      const rows = db.prepare(
        `SELECT * FROM messages WHERE id > ? AND (conv IN (${convs.map(() => "?").join(",")})
           OR (scope = 'direct' AND (sender = ? OR recipient = ?))) ORDER BY id LIMIT ?`,
      ).all(after, ...convs, account.login, account.login, limit);
      return rows.map(toMessage);
    },

    /** The client message ids of the newest `count` messages that have one, oldest first. */
    recentClientIds(count: number): { id: number; ts: number; sender: string; cid: string }[] {
      flushMessages();
      return sql(
        "SELECT id, ts, sender, cid FROM messages WHERE id > ? AND cid IS NOT NULL ORDER BY id",
      ).all(lastId - count).map((row) => ({
        id: Number(row.id),
        ts: Number(row.ts),
        sender: String(row.sender),
        cid: String(row.cid),
      }));
    },

    messageCount(): number {
      flushMessages();
      return Number(sql("SELECT count(*) AS n FROM messages").get()?.n ?? 0);
    },

    get lastMessageId(): number {
      return lastId;
    },

    addUndelivered(account: string, message: number): void {
      write("INSERT OR IGNORE INTO undelivered (account, message) VALUES (?,?)", account, message);
    },

    /** Returns and forgets the messages stored for an account while it was offline, oldest first. */
    takeUndelivered(account: string): StoredMessage[] {
      flushMessages();
      const rows = sql(
        "SELECT m.* FROM undelivered u JOIN messages m ON m.id = u.message WHERE u.account = ? ORDER BY m.id",
      ).all(account);
      if (rows.length > 0) write("DELETE FROM undelivered WHERE account = ?", account);
      return rows.map(toMessage);
    },

    /** Deletes history past the retention limits; returns how many messages went. */
    prune(retention: Retention, now: number): number {
      flushMessages();
      let removed = 0;
      if (retention.maxAgeMs !== undefined) {
        removed += Number(
          write("DELETE FROM messages WHERE ts < ?", now - retention.maxAgeMs).changes,
        );
      }
      if (retention.maxMessages !== undefined) {
        removed += Number(
          write("DELETE FROM messages WHERE id <= ?", lastId - retention.maxMessages).changes,
        );
      }
      if (removed > 0) {
        write("DELETE FROM undelivered WHERE message NOT IN (SELECT id FROM messages)");
        write("INSERT OR REPLACE INTO meta (key, value) VALUES ('last_message_id', ?)", lastId);
      }
      return removed;
    },
  };
}

function migrate(db: DatabaseSync): void {
  const version = Number(db.prepare("PRAGMA user_version").get()?.user_version ?? 0);
  if (version > MIGRATIONS.length) {
    throw new Error(
      `Cannot open store: its schema version ${version} is newer than this chatz (${MIGRATIONS.length})`,
    );
  }
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.exec("BEGIN");
    db.exec(MIGRATIONS[v]);
    db.exec(`PRAGMA user_version = ${v + 1}`);
    db.exec("COMMIT");
  }
}
