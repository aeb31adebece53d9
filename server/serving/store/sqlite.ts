// The embedded store: the `Store` (store.ts) on SQLite, in one file in the data folder.
// The only module that speaks SQL. Writes of one event-loop turn share a transaction, committed before replies go out.

import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { directParties, pageRow, type PendingPage, stageMessage } from "./pages.ts";
import { historyMethods } from "./sqlite_history.ts";
import { identityMethods } from "./sqlite_identity.ts";
import { OPERATOR_MIGRATION, operatorMethods } from "./sqlite_operator.ts";
import type { AddedMessage, NewMessage, Store, StoreOptions } from "./store.ts";

/** The schema, one entry per version; a store migrates itself forward on open. Never edit a shipped entry. */
export const MIGRATIONS: readonly string[] = [
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
  // v4: history in pages. A page holds the messages one turn stored in one conversation, as the
  // JSON array of their events: one row per page instead of one per message is what lets the store
  // keep up with hundreds of thousands of messages a second. Keyed by its newest message's id.
  `CREATE TABLE pages (
     last INTEGER PRIMARY KEY, conv TEXT NOT NULL, first INTEGER NOT NULL,
     newest_ts INTEGER NOT NULL, count INTEGER NOT NULL, body TEXT NOT NULL, cids TEXT);
   CREATE INDEX pages_conv ON pages (conv, last);
   CREATE INDEX pages_age ON pages (newest_ts);
   INSERT INTO pages (last, conv, first, newest_ts, count, body, cids)
     SELECT id, conv, id, ts, 1, json_array(json_patch(
         json_object('type', 'message', 'id', id, 'ts', ts, 'scope', scope, 'from', sender,
           'text', text),
         json_object('to', recipient, 'group', grp,
           'action', CASE WHEN action THEN json('true') END))),
       CASE WHEN cid IS NOT NULL THEN json_array(json_array(0, cid)) END
     FROM messages;
   CREATE TABLE direct_convs (account TEXT NOT NULL, conv TEXT NOT NULL,
     PRIMARY KEY (account, conv)) WITHOUT ROWID;
   INSERT OR IGNORE INTO direct_convs (account, conv)
     SELECT substr(conv, 3, instr(substr(conv, 3), ':') - 1), conv FROM messages
       WHERE scope = 'direct'
     UNION SELECT substr(conv, 3 + instr(substr(conv, 3), ':')), conv FROM messages
       WHERE scope = 'direct';
   CREATE TABLE undelivered_events (account TEXT NOT NULL, message INTEGER NOT NULL,
     ts INTEGER NOT NULL, conv TEXT NOT NULL, event TEXT NOT NULL,
     PRIMARY KEY (account, message));
   INSERT INTO undelivered_events (account, message, ts, conv, event)
     SELECT u.account, m.id, m.ts, m.conv, (SELECT value FROM json_each(p.body))
     FROM undelivered u JOIN messages m ON m.id = u.message JOIN pages p ON p.last = m.id;
   DROP TABLE undelivered;
   DROP TABLE messages;
   ALTER TABLE undelivered_events RENAME TO undelivered;`,
  // v5: no index on page age. Pages are written in id order, which is age order while the clock
  // does not step back, so retention deletes the oldest up to the first page still young enough.
  // The index cost one more database page written at every commit (6 us of a 20 us small commit).
  `DROP INDEX pages_age;`,
  // v6: each plugin's own key-value store (ctx.storage); values are JSON texts.
  `CREATE TABLE plugin_values (plugin TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
     PRIMARY KEY (plugin, key)) WITHOUT ROWID;`,
  // v7: the operator's tables: roles and last seen, deleted logins, bans, invitations, group policies.
  OPERATOR_MIGRATION,
];

/** Most direct conversations remembered as noted; past it the memory starts again (notes are idempotent). */
const MAX_NOTED = 100_000;

/**
 * Pages of write-ahead log after which the serving connection checkpoints by itself: only a
 * backstop, since `openCheckpointer` does it from another thread long before.
 */
const WAL_BACKSTOP_PAGES = 16_384;

/** How hard commits are pushed to disk: `normal` survives a killed process, `full` also a power cut. */
export type SyncMode = "normal" | "full";

/** The SQLite store: a `Store`, and the path of its database file. */
export interface SqliteStore extends Store {
  readonly path: string;
}

/** How to open the SQLite store. */
export interface SqliteStoreOptions extends StoreOptions {
  sync?: SyncMode;
}

/** Opens (creating the folder if needed) the database at `path`, set up and migrated. */
function openDatabase(dir: string, path: string, options: SqliteStoreOptions): DatabaseSync {
  mkdirSync(dir, { recursive: true });
  const db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec(`PRAGMA synchronous = ${options.sync === "full" ? "FULL" : "NORMAL"}`);
  db.exec("PRAGMA busy_timeout = 5000");
  db.exec(`PRAGMA wal_autocheckpoint = ${WAL_BACKSTOP_PAGES}`);
  migrate(db);
  return db;
}

/** Prepares each SQL text once and hands out the same statement after. */
function statementCache(db: DatabaseSync): (text: string) => StatementSync {
  const cache = new Map<string, StatementSync>();
  return (text) => {
    let statement = cache.get(text);
    if (!statement) cache.set(text, statement = db.prepare(text));
    return statement;
  };
}

/** The highest message id given so far: the newest page's, or the one kept when pages were pruned. */
function lastMessageIdIn(sql: (text: string) => StatementSync): number {
  return Math.max(
    Number((sql("SELECT max(last) AS id FROM pages").get()?.id as number | null) ?? 0),
    Number(sql("SELECT value FROM meta WHERE key = 'last_message_id'").get()?.value ?? 0),
  );
}

/**
 * A turn's messages are written at commit as pages, one per conversation (more past PAGE_MAX):
 * one row per page rather than per message is most of what makes the message path fast.
 */
function pageWriter(
  sql: ReturnType<typeof statementCache>,
  write: (text: string, ...params: SQLInputValue[]) => unknown,
) {
  const pending = new Map<string, PendingPage>();
  /** Direct conversations known to be in `direct_convs`, so a page does not note them again. */
  let noted = new Set<string>();
  const writePage = (page: PendingPage) => {
    write(
      "INSERT INTO pages (last, conv, first, newest_ts, count, body, cids) VALUES (?,?,?,?,?,?,?)",
      ...pageRow(page),
    );
    if (page.conv.startsWith("d:") && !noted.has(page.conv)) {
      const [a, b] = directParties(page.conv);
      const note = sql("INSERT OR IGNORE INTO direct_convs (account, conv) VALUES (?,?)");
      note.run(a, page.conv);
      if (b !== a) note.run(b, page.conv);
      if (noted.size >= MAX_NOTED) noted = new Set();
      noted.add(page.conv);
    }
  };
  return {
    /** The pages of the open turn, by conversation. */
    pending,
    write: writePage,
    /** Writes the buffered pages; every read of history and every commit calls it first. */
    flush(): void {
      if (pending.size === 0) return;
      for (const page of pending.values()) writePage(page);
      pending.clear();
    },
    /** Forgets which direct conversations were noted (their rows were deleted or rolled back). */
    forgetNoted(): void {
      noted = new Set();
    },
    /** Drops the buffered pages and the notes of a rolled-back turn. */
    drop(): void {
      pending.clear();
      noted = new Set();
    },
  };
}

/**
 * Opens (creating if needed) the SQLite store in `dir`. `onWrite` is called when a turn's first
 * write opens a transaction, so the caller can make sure a commit follows.
 */
export function openSqliteStore(dir: string, options: SqliteStoreOptions = {}): SqliteStore {
  const path = join(dir, "chatz.db");
  const db = openDatabase(dir, path, options);
  const sql = statementCache(db);
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

  const pages = pageWriter(sql, write);
  let lastId = lastMessageIdIn(sql);

  /**
   * Undelivered messages per account, as counted by `undeliveredCount` and kept up to date by the
   * writes since; forgotten whole on a rollback and on bulk deletes, and counted again when asked.
   */
  const waiting = new Map<string, number>();
  /** How the method groups (sqlite_identity.ts, sqlite_history.ts, sqlite_operator.ts) reach SQL. */
  const access = {
    sql,
    write,
    flushPages: pages.flush,
    forgetNoted: pages.forgetNoted,
    forgetWaiting: () => waiting.clear(),
  };

  return {
    path,

    ...operatorMethods(access),
    ...identityMethods(access),
    ...historyMethods({ ...access, lastId: () => lastId, waiting }),

    // ---- transactions ----

    /** Commits the open transaction, if any: call before acknowledging what it wrote. */
    commit(): void {
      if (!inTransaction) return;
      pages.flush();
      db.exec("COMMIT"); // on a failure (a full disk) the transaction stays open for rollback()
      inTransaction = false;
    },

    /** Abandons the open transaction, if any, buffered messages included. */
    rollback(): void {
      pages.drop(); // buffered pages, and what this transaction noted, are gone with it
      waiting.clear(); // and what it counted
      if (!inTransaction) return;
      inTransaction = false;
      try {
        db.exec("ROLLBACK");
      } catch (error) {
        // SQLite may have rolled a failed COMMIT back by itself: then there is nothing left to undo.
        if (!/no transaction is active/.test((error as Error).message)) throw error;
      }
    },

    close(): void {
      this.commit();
      db.close();
    },

    /**
     * Wipes the identity store: accounts, tokens, groups, memberships, undelivered messages, and
     * the direct and group history a future account of the same name must not read. The public
     * room's history stays.
     */
    clearIdentities(): number {
      pages.flush();
      const count = this.accountCount();
      for (
        const table of ["accounts", "tokens", "groups", "members", "undelivered", "direct_convs"]
      ) {
        write(`DELETE FROM ${table}`);
      }
      pages.forgetNoted();
      waiting.clear();
      write("DELETE FROM pages WHERE conv <> 'p'");
      return count;
    },

    // ---- messages ----

    /** Stores a message under the next id and returns it, with its event encoded. */
    addMessage(message: NewMessage): AddedMessage {
      beginWrite();
      return stageMessage(pages.pending, ++lastId, message, pages.write);
    },

    get lastMessageId(): number {
      return lastId;
    },
  };
}

/** How much of the write-ahead log one checkpoint copied into the database (SQLite's counts, in pages). */
export interface CheckpointResult {
  /** Pages in the log. */
  log: number;
  /** Pages of it now also in the database. */
  checkpointed: number;
}

/** Copies the write-ahead log into the database on demand, through a connection of its own. */
export interface Checkpointer {
  checkpoint(): CheckpointResult;
  close(): void;
}

/**
 * Opens a second connection to the store in `dir` that checkpoints its write-ahead log. Run from
 * another thread than the store's, it takes the copy and its fsync off the serving thread, where
 * they were the tail of the message latency. PASSIVE: it never blocks the writer.
 */
export function openCheckpointer(dir: string, options: { sync?: SyncMode } = {}): Checkpointer {
  const db = new DatabaseSync(join(dir, "chatz.db"));
  db.exec(`PRAGMA synchronous = ${options.sync === "full" ? "FULL" : "NORMAL"}`);
  const statement = db.prepare("PRAGMA wal_checkpoint(PASSIVE)");
  return {
    checkpoint() {
      const row = statement.get();
      return { log: Number(row?.log ?? 0), checkpointed: Number(row?.checkpointed ?? 0) };
    },
    close: () => db.close(),
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
