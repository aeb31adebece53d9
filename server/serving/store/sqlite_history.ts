// The SQLite store's history reads and upkeep: history pages, catch-up, recent client ids, message
// counts, undelivered messages and retention. Reads write the turn's buffered pages first.

import type { SQLInputValue } from "node:sqlite";
import type { MessageEvent } from "../../../protocol/mod.ts";
import { fromEvent } from "../message_event.ts";
import type { AddedMessage, RecentClientId, Retention, Store, StoredMessage } from "./store.ts";
import { otherParties } from "./rows.ts";
import type { OperatorSql } from "./sqlite_operator.ts";
import { messagesInRange, pageClientIds, pageMessages } from "./pages.ts";

/** The history methods that keep or drop messages: offline copies and retention (the rest read). */
export type UpkeepMethod = "addUndelivered" | "takeUndelivered" | "undeliveredCount" | "prune";

/** The Store methods this module implements. */
export type HistoryMethods = Pick<
  Store,
  | "directContacts"
  | "history"
  | "missed"
  | "messagesBetween"
  | "recentClientIds"
  | "messageCount"
  | UpkeepMethod
>;

/** What the history methods need from the SQLite store. */
type HistorySql = Pick<OperatorSql, "sql" | "write" | "flushPages" | "forgetWaiting"> & {
  /** The highest message id given so far. */
  lastId(): number;
  /** Undelivered messages per account, where counted (the store forgets them on a rollback). */
  waiting: Map<string, number>;
};

/** The history methods of the SQLite store: its reads, and its upkeep of what it keeps. */
export function historyMethods(db: HistorySql): HistoryMethods {
  return { ...historyReads(db), ...upkeepMethods(db) };
}

/** The messages of a page row, oldest first; with their client message ids when the row has `cids`. */
function messagesOf(row: Record<string, SQLInputValue>): StoredMessage[] {
  return pageMessages(String(row.conv), String(row.body), row.cids);
}

/** History, catch-up, messages in an id range, recent client ids, direct contacts and counts. */
function historyReads(db: HistorySql): Omit<HistoryMethods, UpkeepMethod> {
  const { sql, flushPages } = db;
  return {
    /** The accounts `account` has a direct conversation with, itself left out. */
    directContacts(account: string): string[] {
      flushPages();
      return otherParties(
        sql("SELECT conv FROM direct_convs WHERE account = ?").all(account),
        account,
      );
    },

    /** The newest `limit` messages of a conversation below `before`, oldest first. */
    history(conv: string, before: number, limit: number): StoredMessage[] {
      flushPages();
      const newestFirst: StoredMessage[] = [];
      const take = (row: Record<string, SQLInputValue>) => {
        const messages = messagesOf(row);
        for (let i = messages.length - 1; i >= 0 && newestFirst.length < limit; i--) {
          if (messages[i].id < before) newestFirst.push(messages[i]);
        }
      };
      // Pages do not overlap within a conversation: only the lowest page ending at or above
      // `before` can hold messages below it.
      const straddling = sql(
        "SELECT conv, body FROM pages WHERE conv = ? AND last >= ? ORDER BY last LIMIT 1",
      ).get(conv, before);
      if (straddling && limit > 0) take(straddling);
      if (newestFirst.length < limit) {
        const older = sql(
          "SELECT conv, body FROM pages WHERE conv = ? AND last < ? ORDER BY last DESC",
        );
        for (const row of older.iterate(conv, before)) {
          take(row);
          if (newestFirst.length >= limit) break;
        }
      }
      return newestFirst.reverse();
    },

    /** Every conversation's messages with ids above `after` and up to `upTo`, oldest first. */
    messagesBetween(after: number, upTo: number): StoredMessage[] {
      flushPages();
      const rows = sql(
        "SELECT conv, body, cids FROM pages WHERE last > ? AND first <= ? ORDER BY first",
      ).all(after, upTo);
      return messagesInRange(rows, after, upTo);
    },

    /**
     * What an account missed after message `after`, oldest first, at most `limit`: the public
     * room, the given group conversations, and its direct conversations. Each carries its stored
     * client message id (`cid`), if it has one.
     */
    missed(
      after: number,
      account: { key: string; groupConvs: readonly string[] },
      limit: number,
    ): StoredMessage[] {
      flushPages();
      const direct = sql("SELECT conv FROM direct_convs WHERE account = ?").all(account.key)
        .map((row) => String(row.conv));
      const convs = ["p", ...account.groupConvs, ...direct];
      // Every page that ends after `after` holds at least one missed message, and only one page per
      // conversation also holds older ones: the first limit + convs pages by their first message
      // hold the `limit` oldest missed messages.
      const pages = sql(
        `SELECT first, last FROM pages WHERE conv IN (SELECT value FROM json_each(?)) AND last > ?
           ORDER BY first LIMIT ?`,
      ).iterate(JSON.stringify(convs), after, limit + convs.length);
      // With the client message ids: a session is not sent its own sends back as missed.
      const page = sql("SELECT conv, body, cids FROM pages WHERE last = ?");
      let found: StoredMessage[] = [];
      for (const { first, last } of pages) {
        if (found.length >= limit) {
          // Once `limit` are found, a page that starts above the newest of them holds none of the
          // oldest `limit`, nor does any later one: a resume from 0 reads a few pages, not all.
          found = found.sort((a, b) => a.id - b.id).slice(0, limit);
          if (Number(first) > found[limit - 1].id) break;
        }
        for (const message of messagesOf(page.get(last)!)) {
          if (message.id > after) found.push(message);
        }
      }
      return found.sort((a, b) => a.id - b.id).slice(0, limit);
    },

    /** The client message ids of the newest `count` messages that have one, oldest first. */
    recentClientIds(count: number): RecentClientId[] {
      flushPages();
      const found: RecentClientId[] = [];
      const rows = sql(
        "SELECT body, cids FROM pages WHERE last > ? AND cids IS NOT NULL ORDER BY last",
      ).all(db.lastId() - count);
      for (const row of rows) {
        found.push(...pageClientIds(String(row.body), String(row.cids), db.lastId() - count));
      }
      return found.sort((a, b) => a.id - b.id);
    },

    messageCount(): number {
      flushPages();
      return Number(sql("SELECT coalesce(sum(count), 0) AS n FROM pages").get()?.n ?? 0);
    },
  };
}

/** Undelivered messages kept for offline accounts, and retention. */
function upkeepMethods(db: HistorySql): Pick<HistoryMethods, UpkeepMethod> {
  const { sql, write, flushPages, waiting } = db;
  /** Adds `delta` to an account's count of undelivered messages, when it is known. */
  const recount = (account: string, delta: number) => {
    const known = waiting.get(account);
    if (known !== undefined) waiting.set(account, known + delta);
  };

  return {
    /** Keeps a stored message for an account that is offline, until it logs in. */
    addUndelivered(account: string, message: AddedMessage): void {
      const { changes } = write(
        "INSERT OR IGNORE INTO undelivered (account, message, ts, conv, event) VALUES (?,?,?,?,?)",
        account,
        message.id,
        message.ts,
        message.conv,
        message.event,
      );
      recount(account, Number(changes)); // 0 when the message was already kept
    },

    /** Returns and forgets the messages stored for an account while it was offline, oldest first. */
    takeUndelivered(account: string, limit = -1): StoredMessage[] {
      const rows = sql(
        "SELECT message, conv, event FROM undelivered WHERE account = ? ORDER BY message LIMIT ?",
      ).all(account, limit);
      if (rows.length > 0) {
        const { changes } = write(
          "DELETE FROM undelivered WHERE account = ? AND message <= ?",
          account,
          Number(rows[rows.length - 1].message),
        );
        recount(account, -Number(changes));
      }
      return rows.map((row) =>
        fromEvent(JSON.parse(String(row.event)) as MessageEvent, String(row.conv))
      );
    },

    /** How many messages are kept for an account: counted once, then kept up to date. */
    undeliveredCount(account: string): number {
      let count = waiting.get(account);
      if (count === undefined) {
        const row = sql("SELECT count(*) AS n FROM undelivered WHERE account = ?").get(account);
        count = Number(row?.n ?? 0);
        waiting.set(account, count);
      }
      return count;
    },

    /**
     * Deletes history past the retention limits, page by page: a page goes once its newest message
     * is past them. A page holds one turn of one conversation, so this is exact to within one turn.
     * Returns how many messages went.
     */
    prune(retention: Retention, now: number): number {
      flushPages();
      let removed = 0;
      const drop = (pagesWhere: string, undeliveredWhere: string, bound: number) => {
        const count = sql(`SELECT coalesce(sum(count), 0) AS n FROM pages WHERE ${pagesWhere}`);
        removed += Number(count.get(bound)?.n ?? 0);
        write(`DELETE FROM pages WHERE ${pagesWhere}`, bound);
        write(`DELETE FROM undelivered WHERE ${undeliveredWhere}`, bound);
        db.forgetWaiting();
      };
      if (retention.maxAgeMs !== undefined) {
        // Oldest first, up to the first page still young enough (see migration v5): a scan in id
        // order that stops there, so it reads only the pages it deletes.
        drop(
          `last < coalesce((SELECT last FROM pages WHERE newest_ts >= ? ORDER BY last LIMIT 1),
             ${Number.MAX_SAFE_INTEGER})`,
          "ts < ?",
          now - retention.maxAgeMs,
        );
      }
      if (retention.maxMessages !== undefined) {
        drop("last <= ?", "message <= ?", db.lastId() - retention.maxMessages);
      }
      if (removed > 0) {
        write(
          "INSERT OR REPLACE INTO meta (key, value) VALUES ('last_message_id', ?)",
          db.lastId(),
        );
      }
      return removed;
    },
  };
}
