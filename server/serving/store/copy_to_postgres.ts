// `chatz migrate`'s work: copies an embedded (SQLite) store into an empty PostgreSQL database in
// one transaction, table by table, and checks the row counts on both sides before committing.

import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import postgres from "postgres";
import { openSqliteStore } from "./sqlite.ts";
import { migrateSchema, PG_TYPES } from "./postgres_schema.ts";
import { redactUrl } from "./postgres.ts";
import { plural } from "../../../protocol/plural.ts";

/** Rows sent per INSERT: few round trips, well under PostgreSQL's 65,535 parameters per statement. */
const BATCH_ROWS = 1000;

/** Each table copied, its columns, and the order that keeps insertion-ordered tables in order. */
const TABLES: readonly { name: string; columns: string[]; order: string }[] = [
  {
    name: "accounts",
    columns: ["key", "login", "password", "created", "role", "last_seen"],
    order: "key",
  },
  { name: "tokens", columns: ["hash", "account", "created", "expires"], order: "hash" },
  { name: "groups", columns: ["key", "name", "owner", "created", "policy"], order: "key" },
  { name: "members", columns: ["grp", "account", "login", "joined"], order: "joined, rowid" },
  {
    name: "pages",
    columns: ["last", "conv", "first", "newest_ts", "count", "body", "cids"],
    order: "last",
  },
  { name: "direct_convs", columns: ["account", "conv"], order: "account, conv" },
  { name: "undelivered", columns: ["account", "message", "ts", "conv", "event"], order: "message" },
  { name: "plugin_values", columns: ["plugin", "key", "value"], order: "plugin, key" },
  {
    name: "deleted_logins",
    columns: ["key", "login", "deleted", "reserved_until", "last_message"],
    order: "rowid",
  },
  {
    name: "bans",
    columns: ["kind", "target", "reason", "by", "created", "expires"],
    order: "kind, target",
  },
  { name: "invites", columns: ["hash", "uses", "created", "expires", "by"], order: "hash" },
];

/** SQLite tables that are not copied row for row: `meta` becomes the id counter. */
const NOT_COPIED = new Set(["meta"]);

/** What was copied: rows per table on each side, and the messages the pages hold. */
export interface CopyReport {
  tables: { name: string; source: number; copied: number }[];
  messages: { source: number; copied: number };
  lastMessageId: number;
}

/**
 * Copies the store in `dataDir` into the PostgreSQL database at `url`, which must hold no chatz data
 * yet. All or nothing: the copy commits only when every count matches. The caller holds the data
 * folder's lock, so no server writes to it meanwhile.
 */
export async function copyToPostgres(dataDir: string, url: string): Promise<CopyReport> {
  openSqliteStore(dataDir).close(); // brings an older data folder to the current schema first
  const db = new DatabaseSync(`${dataDir}/chatz.db`, { readOnly: true });
  const sql = postgres(url, { max: 1, onnotice: () => {}, types: PG_TYPES });
  try {
    checkTables(db);
    await migrateSchema(sql);
    return await sql.begin(async (tx) => {
      await refuseNonEmpty(tx, url);
      const tables = [];
      for (const table of TABLES) {
        const source = count(db, table.name);
        await copyTable(db, tx, table);
        const [row] = await tx.unsafe(`SELECT count(*) AS n FROM ${table.name}`);
        tables.push({ name: table.name, source, copied: Number(row.n) });
      }
      const lastMessageId = sourceLastId(db);
      await tx`UPDATE meta SET value = ${lastMessageId} WHERE key = 'last_message_id'`;
      const [pg] = await tx`SELECT coalesce(sum(count), 0) AS n FROM pages`;
      const messages = { source: sourceMessages(db), copied: Number(pg.n) };
      const wrong = tables.filter((t) => t.source !== t.copied);
      if (wrong.length > 0 || messages.source !== messages.copied) {
        throw new Error(
          `Cannot migrate into ${redactUrl(url)}: counts differ after the copy (${
            wrong.map((t) => `${t.name} ${t.source} → ${t.copied}`).join(", ") || "messages"
          }); nothing was committed`,
        );
      }
      return { tables, messages, lastMessageId };
    });
  } finally {
    db.close();
    await sql.end({ timeout: 5 });
  }
}

/** Refuses a data folder with a table this copy does not know: better than leaving it behind. */
function checkTables(db: DatabaseSync): void {
  const known = new Set([...TABLES.map((t) => t.name), ...NOT_COPIED]);
  const rows = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all();
  const unknown = rows.map((r) => String(r.name))
    .filter((name) => !known.has(name) && !name.startsWith("sqlite_") && count(db, name) > 0);
  if (unknown.length > 0) {
    throw new Error(
      `Cannot migrate: this chatz does not know how to copy the table(s) ${unknown.join(", ")}`,
    );
  }
}

async function refuseNonEmpty(tx: postgres.TransactionSql, url: string): Promise<void> {
  const [row] = await tx`SELECT (SELECT count(*) FROM accounts) AS accounts,
    (SELECT count(*) FROM pages) AS pages, (SELECT count(*) FROM groups) AS groups`;
  if (Number(row.accounts) + Number(row.pages) + Number(row.groups) > 0) {
    throw new Error(
      `Cannot migrate into ${redactUrl(url)}: it already holds chatz data (${
        plural(Number(row.accounts), "account")
      }, ${plural(Number(row.pages), "history page")}, ${plural(Number(row.groups), "group")})`,
    );
  }
}

async function copyTable(
  db: DatabaseSync,
  tx: postgres.TransactionSql,
  table: (typeof TABLES)[number],
): Promise<void> {
  const select = db.prepare(
    `SELECT ${table.columns.join(", ")} FROM ${table.name} ORDER BY ${table.order}`,
  );
  let batch: Record<string, SQLInputValue>[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const rows = batch as Record<string, postgres.ParameterOrJSON<never>>[];
    await tx`INSERT INTO ${tx(table.name)} ${tx(rows, ...table.columns)}`;
    batch = [];
  };
  for (const row of select.iterate()) {
    batch.push(row);
    if (batch.length >= BATCH_ROWS) await flush();
  }
  await flush();
}

function count(db: DatabaseSync, table: string): number {
  return Number(db.prepare(`SELECT count(*) AS n FROM "${table}"`).get()?.n ?? 0);
}

function sourceMessages(db: DatabaseSync): number {
  return Number(db.prepare("SELECT coalesce(sum(count), 0) AS n FROM pages").get()?.n ?? 0);
}

/** The highest id the embedded store ever gave, so the cluster's ids continue above it. */
function sourceLastId(db: DatabaseSync): number {
  return Math.max(
    Number(db.prepare("SELECT max(last) AS id FROM pages").get()?.id ?? 0),
    Number(db.prepare("SELECT value FROM meta WHERE key = 'last_message_id'").get()?.value ?? 0),
  );
}
