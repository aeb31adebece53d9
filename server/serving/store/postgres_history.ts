// The PostgreSQL store's history reads and upkeep: history pages, catch-up, recent client ids, message
// counts, undelivered messages and retention. Reads stage the turn's buffered pages first.

import { messagesInRange, pageClientIds, pageMessages } from "./pages.ts";
import {
  flushPages,
  forgetWaiting,
  lastMessageId,
  lockIds,
  type PgTurn,
  query,
  write,
} from "./postgres_turn.ts";
import type { Row } from "./postgres_worker.ts";
import { otherParties } from "./rows.ts";
import type { HistoryMethods, UpkeepMethod } from "./sqlite_history.ts";
import type { AddedMessage, RecentClientId, Retention, StoredMessage } from "./store.ts";

/** History pages fetched per round trip while paging backwards through a conversation. */
const HISTORY_PAGES_PER_READ = 8;

/** The history methods of the PostgreSQL store. */
export function pgHistoryMethods(turn: PgTurn): HistoryMethods {
  return { ...historyReads(turn), ...upkeepMethods(turn) };
}

/** History, catch-up, messages in an id range, recent client ids, direct contacts and counts. */
function historyReads(turn: PgTurn): Omit<HistoryMethods, UpkeepMethod> {
  return {
    messageCount(): number {
      flushPages(turn);
      return Number(query(turn, "SELECT coalesce(sum(count), 0) AS n FROM pages")[0]?.n ?? 0);
    },

    history(conv: string, before: number, limit: number): StoredMessage[] {
      flushPages(turn);
      before = Math.min(before, Number.MAX_SAFE_INTEGER); // callers may say Infinity; bigint may not
      const newestFirst: StoredMessage[] = [];
      const take = (row: Row) => {
        const messages = pageMessages(String(row.conv), String(row.body), row.cids);
        for (let i = messages.length - 1; i >= 0 && newestFirst.length < limit; i--) {
          if (messages[i].id < before) newestFirst.push(messages[i]);
        }
      };
      if (limit <= 0) return [];
      // Pages do not overlap within a conversation: only the lowest page ending at or above
      // `before` can hold messages below it; the others come newest first, a few per read.
      const [straddling] = query(
        turn,
        "SELECT conv, body FROM pages WHERE conv = $1 AND last >= $2 ORDER BY last LIMIT 1",
        [conv, before],
      );
      if (straddling) take(straddling);
      let below = before;
      while (newestFirst.length < limit) {
        const rows = query(
          turn,
          `SELECT conv, body, last FROM pages WHERE conv = $1 AND last < $2
             ORDER BY last DESC LIMIT $3`,
          [conv, below, HISTORY_PAGES_PER_READ],
        );
        for (const row of rows) take(row);
        if (rows.length < HISTORY_PAGES_PER_READ) break;
        below = Number(rows.at(-1)!.last);
      }
      return newestFirst.reverse();
    },

    messagesBetween(after: number, upTo: number): StoredMessage[] {
      flushPages(turn);
      const rows = query(
        turn,
        "SELECT conv, body, cids FROM pages WHERE last > $1 AND first <= $2 ORDER BY first",
        [after, upTo],
      );
      return messagesInRange(rows, after, upTo);
    },

    missed(
      after: number,
      account: { key: string; groupConvs: readonly string[] },
      limit: number,
    ): StoredMessage[] {
      flushPages(turn);
      // As in the SQLite store: the first limit + conversations pages by their first message
      // hold the `limit` oldest missed messages.
      const [{ n }] = query(turn, "SELECT count(*) AS n FROM direct_convs WHERE account = $1", [
        account.key,
      ]);
      const rows = query(
        turn,
        `SELECT conv, body, cids FROM pages
           WHERE (conv = 'p' OR conv = ANY($1::text[])
             OR conv IN (SELECT conv FROM direct_convs WHERE account = $2))
             AND last > $3
           ORDER BY first LIMIT $4`,
        [
          [...account.groupConvs],
          account.key,
          after,
          limit + 1 + account.groupConvs.length + Number(n),
        ],
      );
      return messagesInRange(rows, after).slice(0, limit);
    },

    directContacts(account: string): string[] {
      flushPages(turn);
      return otherParties(
        query(turn, "SELECT conv FROM direct_convs WHERE account = $1", [account]),
        account,
      );
    },

    recentClientIds(count: number): RecentClientId[] {
      flushPages(turn);
      const above = lastMessageId(turn) - count;
      const found: RecentClientId[] = [];
      const rows = query(
        turn,
        "SELECT body, cids FROM pages WHERE last > $1 AND cids IS NOT NULL ORDER BY last",
        [above],
      );
      for (const row of rows) {
        found.push(...pageClientIds(String(row.body), String(row.cids), above));
      }
      return found.sort((a, b) => a.id - b.id);
    },
  };
}

/** Undelivered messages kept for offline accounts, and retention. */
function upkeepMethods(turn: PgTurn): Pick<HistoryMethods, UpkeepMethod> {
  return {
    addUndelivered(account: string, message: AddedMessage): void {
      write(
        turn,
        `INSERT INTO undelivered (account, message, ts, conv, event) VALUES ($1,$2,$3,$4,$5)
           ON CONFLICT DO NOTHING`,
        account,
        message.id,
        message.ts,
        message.conv,
        message.event,
      );
      const pair = `${account}\u0000${message.id}`;
      const known = turn.waiting.get(account);
      if (known !== undefined && !turn.added.has(pair)) turn.waiting.set(account, known + 1);
      turn.added.add(pair);
    },

    takeUndelivered(account: string, limit?: number): StoredMessage[] {
      const rows = query(
        turn,
        "SELECT message, conv, event FROM undelivered WHERE account = $1 ORDER BY message LIMIT $2",
        [account, limit ?? null],
      );
      // Only what was read goes: another node may be adding more at this moment.
      if (rows.length > 0) {
        write(
          turn,
          "DELETE FROM undelivered WHERE account = $1 AND message = ANY($2::bigint[])",
          account,
          rows.map((row) => Number(row.message)),
        );
        forgetWaiting(turn); // counted again if asked: the turn may have added some of these
      }
      return rows.map((row) => pageMessages(String(row.conv), `[${row.event}]`)[0]);
    },

    undeliveredCount(account: string): number {
      // Counted under the id lock, which a turn that adds a message holds anyway: a node that
      // counts after another node added waits for that commit and sees its rows (READ COMMITTED
      // reads each statement anew), so two nodes cannot both fill the last place.
      lockIds(turn);
      let count = turn.waiting.get(account);
      if (count === undefined) {
        const [row] = query(turn, "SELECT count(*) AS n FROM undelivered WHERE account = $1", [
          account,
        ]);
        count = Number(row?.n ?? 0);
        turn.waiting.set(account, count);
      }
      return count;
    },

    prune(retention: Retention, now: number): number {
      flushPages(turn);
      let removed = 0;
      const drop = (pagesWhere: string, undeliveredWhere: string, bound: number) => {
        const [row] = query(
          turn,
          `SELECT coalesce(sum(count), 0) AS n FROM pages WHERE ${pagesWhere}`,
          [bound],
        );
        removed += Number(row?.n ?? 0);
        write(turn, `DELETE FROM pages WHERE ${pagesWhere}`, bound);
        write(turn, `DELETE FROM undelivered WHERE ${undeliveredWhere}`, bound);
        forgetWaiting(turn);
      };
      if (retention.maxAgeMs !== undefined) {
        drop(
          `last < coalesce((SELECT last FROM pages WHERE newest_ts >= $1 ORDER BY last LIMIT 1),
             ${Number.MAX_SAFE_INTEGER})`,
          "ts < $1",
          now - retention.maxAgeMs,
        );
      }
      if (retention.maxMessages !== undefined) {
        drop("last <= $1", "message <= $1", lastMessageId(turn) - retention.maxMessages);
      }
      return removed;
    },
  };
}
