// The cluster store: the `Store` (store.ts) on PostgreSQL, shared by every node of a cluster.
// The serving thread waits for each answer; a turn's writes go over in one pipelined batch at commit.

import { joinBatch } from "../../../protocol/wire.ts";
import { ChatError } from "../../../protocol/errors.ts";
import { startBlockingWorker, WorkerCallError } from "./blocking_worker.ts";
import {
  directParties,
  pageClientIds,
  pageMessages,
  type PendingPage,
  stageMessage,
} from "./pages.ts";
import type { Param, PgRequest, Row, Statement } from "./postgres_worker.ts";
import { groupsFromRows, otherParties } from "./rows.ts";
import { pgOperatorMethods } from "./postgres_operator.ts";
import type {
  AccountRow,
  AddedMessage,
  NewMessage,
  RecentClientId,
  Retention,
  Store,
  StoredGroup,
  StoredMessage,
  StoreOptions,
} from "./store.ts";

/**
 * How long the serving thread waits for one answer before it reports the database unreachable:
 * longer than a PostgreSQL fail-over's usual pause, short enough that clients see an error soon.
 */
const ANSWER_TIMEOUT_MS = 15_000;

/** Connections per node: one carries the serving thread's turns; the spare ones absorb reconnects. */
const POOL_SIZE = 2;

/** Most direct conversations remembered as noted; past it the memory starts again (notes are idempotent). */
const MAX_NOTED = 100_000;

/** History pages fetched per round trip while paging backwards through a conversation. */
const HISTORY_PAGES_PER_READ = 8;

/** How to open the PostgreSQL store. */
export interface PostgresStoreOptions extends StoreOptions {
  /** Overrides ANSWER_TIMEOUT_MS (tests). */
  timeoutMs?: number;
  /**
   * The turn locked the message id counter, whose value was `after`: the ids it gives are above
   * it, and every id up to it is committed (a cluster node orders deliveries by it).
   */
  onIdsLocked?(after: number): void;
  /** The turn that locked the counter committed; the counter is now `last`. */
  onIdsCommitted?(last: number): void;
}

/** The database could not be reached or failed a request: the caller gets `store_unavailable`. */
export class StoreUnavailableError extends ChatError {
  constructor(message: string, cause?: unknown) {
    super("store_unavailable", message);
    this.cause = cause;
  }
}

/** Whether `url` names a PostgreSQL database rather than a data folder. */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

/** A URL with its password masked, for logs and errors. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}

/**
 * Opens the store in the PostgreSQL database at `url`, creating its tables on first use. Message
 * ids come from one counter row that a turn storing messages locks until it commits: ids are then
 * given in commit order across every node, so a client's resume cursor skips nothing (a sequence
 * would hand out ids in call order, and a reader could see id 6 committed before 5).
 */
export function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Store {
  const worker = startBlockingWorker(new URL("./postgres_worker.ts", import.meta.url), {
    timeoutMs: options.timeoutMs ?? ANSWER_TIMEOUT_MS,
  });
  const ask = (request: PgRequest): Row[] => {
    try {
      return (worker.call(request) ?? []) as Row[];
    } catch (error) {
      throw unavailable(error, url);
    }
  };
  try {
    ask({ op: "open", url, max: POOL_SIZE });
  } catch (error) {
    worker.terminate();
    throw error;
  }
  return postgresStore(ask, () => worker.terminate(), options);
}

function unavailable(error: unknown, url: string): Error {
  const code = error instanceof WorkerCallError ? error.code : undefined;
  const why = error instanceof Error ? error.message : String(error);
  return new StoreUnavailableError(
    `Cannot use the database at ${redactUrl(url)}: ${why}${code ? ` (${code})` : ""}`,
    error,
  );
}

/**
 * The store over a function that runs a request in the worker. One long closure on purpose, as the
 * SQLite store is: its methods share the turn's state (staged writes, the open transaction, the id
 * lock, the pages being filled), which a split would have to pass around on every call.
 */
function postgresStore(
  ask: (request: PgRequest) => Row[],
  terminate: () => void,
  options: PostgresStoreOptions,
): Store {
  /** Writes of this turn not yet sent: they go with the next read or the commit. */
  let staged: Statement[] = [];
  /** This turn has written (so a commit must follow). */
  let inTurn = false;
  /** A transaction is open on the server. */
  let open = false;
  /** This transaction holds the message id counter. */
  let holdsIds = false;
  let lastId = 0;
  const pending = new Map<string, PendingPage>();
  let noted = new Set<string>();
  /**
   * Undelivered messages per account as counted in this turn, under the id lock (other nodes'
   * adds wait for it), and the (account, message) pairs this turn added: forgotten at the turn's end.
   */
  const waiting = new Map<string, number>();
  const added = new Set<string>();

  const markWrite = () => {
    if (inTurn) return;
    inTurn = true;
    options.onWrite?.();
  };
  const write = (text: string, ...params: Param[]) => {
    markWrite();
    staged.push({ text, params });
  };
  /** Runs a read after the staged writes, in the open transaction when there is one. */
  const query = (text: string, params: Param[] = [], transaction = false): Row[] => {
    const begin = !open && (transaction || staged.length > 0);
    const statements = [...staged, { text, params }];
    staged = [];
    if (!begin) return ask({ op: "run", begin, statements });
    open = true;
    try {
      return ask({ op: "run", begin, statements });
    } catch (error) {
      open = false; // the worker opened nothing: the next statements must not run outside one
      throw error;
    }
  };
  const writePage = (page: PendingPage) => {
    write(
      `INSERT INTO pages (last, conv, first, newest_ts, count, body, cids)
         VALUES ($1,$2,$3,$4,$5,$6,$7)`,
      page.last,
      page.conv,
      page.first,
      page.newestTs,
      page.events.length,
      joinBatch(page.events),
      page.cids ? JSON.stringify(page.cids) : null,
    );
    if (page.conv.startsWith("d:") && !noted.has(page.conv)) {
      const [a, b] = directParties(page.conv);
      const note = `INSERT INTO direct_convs (account, conv) VALUES ($1,$2) ON CONFLICT DO NOTHING`;
      write(note, a, page.conv);
      if (b !== a) write(note, b, page.conv);
      if (noted.size >= MAX_NOTED) noted = new Set();
      noted.add(page.conv);
    }
  };
  const flushPages = () => {
    for (const page of pending.values()) writePage(page);
    pending.clear();
  };
  const counter = (): number =>
    Number(query("SELECT value FROM meta WHERE key = 'last_message_id'")[0]?.value ?? 0);
  const endTurn = () => {
    staged = [];
    inTurn = open = holdsIds = false;
    waiting.clear();
    added.clear();
  };
  /** Takes the message id counter's lock, held to the commit: other nodes' message turns wait. */
  const lockIds = () => {
    if (holdsIds) return;
    const [row] = query(
      "SELECT value FROM meta WHERE key = 'last_message_id' FOR UPDATE",
      [],
      true,
    );
    holdsIds = true;
    const after = Number(row?.value ?? 0);
    lastId = Math.max(lastId, after);
    markWrite();
    options.onIdsLocked?.(after);
  };
  const forgetWaiting = () => {
    waiting.clear();
    added.clear();
  };

  return {
    ...pgOperatorMethods({
      query,
      write,
      flushPages,
      forgetNoted: () => noted = new Set(),
      forgetWaiting,
      markWrite,
    }),

    // ---- transactions ----

    commit(): void {
      if (!inTurn) return;
      flushPages();
      const idsTaken = holdsIds;
      if (idsTaken) write("UPDATE meta SET value = $1 WHERE key = 'last_message_id'", lastId);
      const request: PgRequest = { op: "run", begin: !open, statements: staged, end: "commit" };
      endTurn();
      ask(request);
      if (idsTaken) options.onIdsCommitted?.(lastId);
    },

    rollback(): void {
      pending.clear();
      noted = new Set(); // what this transaction noted is gone with it
      const wasOpen = open;
      endTurn();
      if (wasOpen) ask({ op: "run", begin: false, statements: [], end: "rollback" });
    },

    close(): void {
      try {
        this.commit();
        ask({ op: "close" });
      } finally {
        terminate();
      }
    },

    // ---- accounts ----

    account(key: string): AccountRow | undefined {
      const [row] = query("SELECT key, login, password, created FROM accounts WHERE key = $1", [
        key,
      ]);
      return row ? row as unknown as AccountRow : undefined;
    },

    createAccount(row: AccountRow): void {
      // Sent now, not at commit, so a taken key throws here; DO NOTHING keeps the turn's
      // transaction alive. A node racing for the same key waits here until the other commits.
      markWrite();
      const created = query(
        `INSERT INTO accounts (key, login, password, created) VALUES ($1,$2,$3,$4)
           ON CONFLICT DO NOTHING RETURNING key`,
        [row.key, row.login, row.password, row.created],
        true,
      );
      if (created.length === 0) {
        // Another node registered it since this one looked: the login's answer to such a race.
        throw new ChatError(
          "wrong_password",
          `Cannot log in as "${row.login}": the login was just taken`,
        );
      }
    },

    setPassword(key: string, password: string): void {
      write("UPDATE accounts SET password = $1 WHERE key = $2", password, key);
    },

    accountCount(): number {
      return Number(query("SELECT count(*) AS n FROM accounts")[0]?.n ?? 0);
    },

    clearIdentities(): number {
      flushPages();
      const count = this.accountCount();
      for (
        const table of ["accounts", "tokens", "groups", "members", "undelivered", "direct_convs"]
      ) {
        write(`DELETE FROM ${table}`);
      }
      noted = new Set();
      forgetWaiting();
      write("DELETE FROM pages WHERE conv <> 'p'");
      return count;
    },

    // ---- session tokens ----

    saveToken(hash: string, account: string, created: number, expires: number): void {
      write(
        "INSERT INTO tokens (hash, account, created, expires) VALUES ($1,$2,$3,$4)",
        hash,
        account,
        created,
        expires,
      );
    },

    tokenAccount(hash: string, now: number): string | undefined {
      const [row] = query("SELECT account FROM tokens WHERE hash = $1 AND expires > $2", [
        hash,
        now,
      ]);
      return row ? String(row.account) : undefined;
    },

    dropTokens(account: string): void {
      write("DELETE FROM tokens WHERE account = $1", account);
    },

    dropToken(hash: string): void {
      write("DELETE FROM tokens WHERE hash = $1", hash);
    },

    // ---- groups ----

    loadGroups(): StoredGroup[] {
      return groupsFromRows(
        query("SELECT key, name, owner, created FROM groups ORDER BY key"),
        query("SELECT grp, account, login FROM members ORDER BY joined, seq"),
      );
    },

    createGroup(group: { key: string; name: string; ownerKey: string; created: number }): void {
      // Sent now, as createAccount: a node racing for the name waits for the other's commit, then
      // learns the name is taken while its turn goes on.
      markWrite();
      const created = query(
        `INSERT INTO groups (key, name, owner, created) VALUES ($1,$2,$3,$4)
           ON CONFLICT DO NOTHING RETURNING key`,
        [group.key, group.name, group.ownerKey, group.created],
        true,
      );
      if (created.length === 0) {
        throw new ChatError(
          "group_exists",
          `Cannot create group "${group.name}": it already exists`,
        );
      }
    },

    deleteGroup(key: string): void {
      write("DELETE FROM members WHERE grp = $1", key);
      write("DELETE FROM groups WHERE key = $1", key);
    },

    setOwner(key: string, ownerKey: string): void {
      write("UPDATE groups SET owner = $1 WHERE key = $2", ownerKey, key);
    },

    addMember(group: string, account: string, login: string, joined: number): void {
      write(
        `INSERT INTO members (grp, account, login, joined) VALUES ($1,$2,$3,$4)
           ON CONFLICT DO NOTHING`,
        group,
        account,
        login,
        joined,
      );
    },

    removeMember(group: string, account: string): void {
      write("DELETE FROM members WHERE grp = $1 AND account = $2", group, account);
    },

    // ---- messages ----

    addMessage(message: NewMessage): AddedMessage {
      lockIds();
      return stageMessage(pending, ++lastId, message, writePage);
    },

    get lastMessageId(): number {
      if (!holdsIds) lastId = Math.max(lastId, counter());
      return lastId;
    },

    messageCount(): number {
      flushPages();
      return Number(query("SELECT coalesce(sum(count), 0) AS n FROM pages")[0]?.n ?? 0);
    },

    history(conv: string, before: number, limit: number): StoredMessage[] {
      flushPages();
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
        "SELECT conv, body FROM pages WHERE conv = $1 AND last >= $2 ORDER BY last LIMIT 1",
        [conv, before],
      );
      if (straddling) take(straddling);
      let below = before;
      while (newestFirst.length < limit) {
        const rows = query(
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
      flushPages();
      const rows = query(
        "SELECT conv, body, cids FROM pages WHERE last > $1 AND first <= $2 ORDER BY first",
        [after, upTo],
      );
      const found: StoredMessage[] = [];
      for (const row of rows) {
        for (const message of pageMessages(String(row.conv), String(row.body), row.cids)) {
          if (message.id > after && message.id <= upTo) found.push(message);
        }
      }
      return found.sort((a, b) => a.id - b.id);
    },

    missed(
      after: number,
      account: { key: string; groupConvs: readonly string[] },
      limit: number,
    ): StoredMessage[] {
      flushPages();
      // As in the SQLite store: the first limit + conversations pages by their first message
      // hold the `limit` oldest missed messages.
      const [{ n }] = query("SELECT count(*) AS n FROM direct_convs WHERE account = $1", [
        account.key,
      ]);
      const rows = query(
        `SELECT conv, body, cids FROM pages
           WHERE (conv = 'p' OR conv = ANY($1::text[])
             OR conv IN (SELECT conv FROM direct_convs WHERE account = $2))
             AND last > $3
           ORDER BY first LIMIT $4`,
        [
          [...account.groupConvs],
          account.key,
          after,
          limit + 1 + account.groupConvs.length +
          Number(n),
        ],
      );
      const found: StoredMessage[] = [];
      for (const row of rows) {
        for (const message of pageMessages(String(row.conv), String(row.body), row.cids)) {
          if (message.id > after) found.push(message);
        }
      }
      return found.sort((a, b) => a.id - b.id).slice(0, limit);
    },

    directContacts(account: string): string[] {
      flushPages();
      return otherParties(
        query("SELECT conv FROM direct_convs WHERE account = $1", [account]),
        account,
      );
    },

    // ---- duplicate suppression ----

    recentClientIds(count: number): RecentClientId[] {
      flushPages();
      const above = this.lastMessageId - count;
      const found: RecentClientId[] = [];
      const rows = query(
        "SELECT body, cids FROM pages WHERE last > $1 AND cids IS NOT NULL ORDER BY last",
        [above],
      );
      for (const row of rows) {
        found.push(...pageClientIds(String(row.body), String(row.cids), above));
      }
      return found.sort((a, b) => a.id - b.id);
    },

    // ---- undelivered messages ----

    addUndelivered(account: string, message: AddedMessage): void {
      write(
        `INSERT INTO undelivered (account, message, ts, conv, event) VALUES ($1,$2,$3,$4,$5)
           ON CONFLICT DO NOTHING`,
        account,
        message.id,
        message.ts,
        message.conv,
        message.event,
      );
      const pair = `${account}\u0000${message.id}`;
      const known = waiting.get(account);
      if (known !== undefined && !added.has(pair)) waiting.set(account, known + 1);
      added.add(pair);
    },

    takeUndelivered(account: string, limit?: number): StoredMessage[] {
      const rows = query(
        "SELECT message, conv, event FROM undelivered WHERE account = $1 ORDER BY message LIMIT $2",
        [account, limit ?? null],
      );
      // Only what was read goes: another node may be adding more at this moment.
      if (rows.length > 0) {
        write(
          "DELETE FROM undelivered WHERE account = $1 AND message = ANY($2::bigint[])",
          account,
          rows.map((row) => Number(row.message)),
        );
        forgetWaiting(); // counted again if asked: the turn may have added some of these
      }
      return rows.map((row) => pageMessages(String(row.conv), `[${row.event}]`)[0]);
    },

    undeliveredCount(account: string): number {
      // Counted under the id lock, which a turn that adds a message holds anyway: a node that
      // counts after another node added waits for that commit and sees its rows (READ COMMITTED
      // reads each statement anew), so two nodes cannot both fill the last place.
      lockIds();
      let count = waiting.get(account);
      if (count === undefined) {
        const [row] = query("SELECT count(*) AS n FROM undelivered WHERE account = $1", [account]);
        count = Number(row?.n ?? 0);
        waiting.set(account, count);
      }
      return count;
    },

    // ---- plugin storage ----

    pluginValue(plugin: string, key: string): string | undefined {
      const [row] = query("SELECT value FROM plugin_values WHERE plugin = $1 AND key = $2", [
        plugin,
        key,
      ]);
      return row ? String(row.value) : undefined;
    },

    setPluginValue(plugin: string, key: string, value: string): void {
      write(
        `INSERT INTO plugin_values (plugin, key, value) VALUES ($1,$2,$3)
           ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value`,
        plugin,
        key,
        value,
      );
    },

    deletePluginValue(plugin: string, key: string): void {
      write("DELETE FROM plugin_values WHERE plugin = $1 AND key = $2", plugin, key);
    },

    pluginKeys(plugin: string, prefix: string, limit: number): string[] {
      // A range rather than LIKE: prefixes may hold '%' and '_'. Keys compare bytewise (COLLATE "C").
      return query(
        `SELECT key FROM plugin_values WHERE plugin = $1 AND key >= $2
           AND left(key, $3) = $2 ORDER BY key COLLATE "C" LIMIT $4`,
        [plugin, prefix, prefix.length, limit],
      ).map((row) => String(row.key));
    },

    // ---- retention ----

    prune(retention: Retention, now: number): number {
      flushPages();
      let removed = 0;
      const drop = (pagesWhere: string, undeliveredWhere: string, bound: number) => {
        const [row] = query(
          `SELECT coalesce(sum(count), 0) AS n FROM pages WHERE ${pagesWhere}`,
          [bound],
        );
        removed += Number(row?.n ?? 0);
        write(`DELETE FROM pages WHERE ${pagesWhere}`, bound);
        write(`DELETE FROM undelivered WHERE ${undeliveredWhere}`, bound);
        forgetWaiting();
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
        drop("last <= $1", "message <= $1", this.lastMessageId - retention.maxMessages);
      }
      return removed;
    },
  };
}
