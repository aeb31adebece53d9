// The PostgreSQL store's schema, one entry per version, applied in order by whichever node opens
// the database first (under an advisory lock, so nodes starting together migrate it once).

import type postgres from "postgres";

/** Never edit a shipped entry: add one. The tables mirror the SQLite store's, so migration is a copy. */
export const PG_MIGRATIONS: readonly string[] = [
  `CREATE TABLE accounts (
     key text PRIMARY KEY, login text NOT NULL, password text NOT NULL, created bigint NOT NULL,
     role text NOT NULL DEFAULT 'user', last_seen bigint);
   CREATE TABLE tokens (
     hash text PRIMARY KEY, account text NOT NULL, created bigint NOT NULL, expires bigint NOT NULL);
   CREATE INDEX tokens_account ON tokens (account);
   CREATE TABLE groups (
     key text PRIMARY KEY, name text NOT NULL, owner text NOT NULL, created bigint NOT NULL,
     policy text);
   CREATE TABLE members (
     grp text NOT NULL, account text NOT NULL, login text NOT NULL, joined bigint NOT NULL,
     seq bigserial NOT NULL, PRIMARY KEY (grp, account));
   CREATE TABLE pages (
     last bigint PRIMARY KEY, conv text NOT NULL, first bigint NOT NULL,
     newest_ts bigint NOT NULL, count integer NOT NULL, body text NOT NULL, cids text);
   CREATE INDEX pages_conv ON pages (conv, last);
   CREATE TABLE direct_convs (account text NOT NULL, conv text NOT NULL,
     PRIMARY KEY (account, conv));
   CREATE TABLE undelivered (account text NOT NULL, message bigint NOT NULL,
     ts bigint NOT NULL, conv text NOT NULL, event text NOT NULL, PRIMARY KEY (account, message));
   CREATE TABLE meta (key text PRIMARY KEY, value bigint NOT NULL);
   INSERT INTO meta (key, value) VALUES ('last_message_id', 0);
   CREATE TABLE plugin_values (plugin text NOT NULL, key text COLLATE "C" NOT NULL,
     value text NOT NULL, PRIMARY KEY (plugin, key));
   CREATE TABLE deleted_logins (key text NOT NULL, login text NOT NULL, deleted bigint NOT NULL,
     reserved_until bigint NOT NULL, last_message bigint NOT NULL, seq bigserial NOT NULL);
   CREATE TABLE bans (kind text NOT NULL, target text COLLATE "C" NOT NULL, reason text NOT NULL,
     by text NOT NULL, created bigint NOT NULL, expires bigint, PRIMARY KEY (kind, target));
   CREATE TABLE invites (hash text COLLATE "C" PRIMARY KEY, uses integer NOT NULL,
     created bigint NOT NULL, expires bigint, by text NOT NULL);`,
  // Version 2: which node holds each session, so --max-sessions is exact across nodes
  // (postgres_claims.ts). Nothing to copy: sessions live only while their node runs.
  `CREATE TABLE cluster_nodes (node text PRIMARY KEY, seen_at bigint NOT NULL);
   CREATE TABLE session_claims (token_hash text PRIMARY KEY, account text NOT NULL,
     node text NOT NULL);
   CREATE INDEX session_claims_account ON session_claims (account);
   CREATE INDEX session_claims_node ON session_claims (node);`,
];

/** The advisory lock key nodes take while migrating (any constant; "chatz" in ASCII). */
export const MIGRATION_LOCK = 0x6368617a74;

/** Column types for the npm `postgres` client: bigint columns hold ids and ms times, all below 2^53. */
export const PG_TYPES = {
  bigint: { to: 20, from: [20], serialize: String, parse: Number },
};

/** Brings the database's schema to the current version, creating it on first use. */
export async function migrateSchema(sql: postgres.Sql): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
    await tx`CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)`;
    const [row] = await tx`SELECT version FROM schema_version`;
    const version = row ? Number(row.version) : 0;
    if (version > PG_MIGRATIONS.length) {
      throw new Error(
        `its schema version ${version} is newer than this chatz (${PG_MIGRATIONS.length})`,
      );
    }
    for (let v = version; v < PG_MIGRATIONS.length; v++) await tx.unsafe(PG_MIGRATIONS[v]);
    if (!row) await tx`INSERT INTO schema_version (version) VALUES (${PG_MIGRATIONS.length})`;
    else await tx`UPDATE schema_version SET version = ${PG_MIGRATIONS.length}`;
  });
}
