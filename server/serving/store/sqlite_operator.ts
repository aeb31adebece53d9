// The SQLite store's operator tables: account summaries and deletion, bans, invitations, group policies.
// Part of the SQLite store (sqlite.ts spreads these methods into it); kept apart so each file has one subject.

import type { SQLInputValue, StatementSync } from "node:sqlite";
import { ban, deletedLogin, invite, summary } from "./rows.ts";
import type { DeletedLogin, GroupPolicy, Role, Store } from "./store.ts";

/** Schema of the operator tables (migration v7 of sqlite.ts). */
export const OPERATOR_MIGRATION = `
  ALTER TABLE accounts ADD COLUMN role TEXT NOT NULL DEFAULT 'user';
  ALTER TABLE accounts ADD COLUMN last_seen INTEGER;
  ALTER TABLE groups ADD COLUMN policy TEXT;
  CREATE TABLE deleted_logins (key TEXT NOT NULL, login TEXT NOT NULL, deleted INTEGER NOT NULL,
    reserved_until INTEGER NOT NULL, last_message INTEGER NOT NULL);
  CREATE TABLE bans (kind TEXT NOT NULL, target TEXT NOT NULL, reason TEXT NOT NULL,
    by TEXT NOT NULL, created INTEGER NOT NULL, expires INTEGER, PRIMARY KEY (kind, target));
  CREATE TABLE invites (hash TEXT PRIMARY KEY, uses INTEGER NOT NULL, created INTEGER NOT NULL,
    expires INTEGER, by TEXT NOT NULL);`;

/** What the operator tables need from the SQLite store. */
export interface OperatorSql {
  /** A cached prepared statement. */
  sql(text: string): StatementSync;
  /** Runs a write inside the turn's transaction. */
  write(text: string, ...params: SQLInputValue[]): { changes: number | bigint };
  /** Writes the messages buffered for commit, before a delete that must see them. */
  flushPages(): void;
  /** Forgets which direct conversations are noted, after some were deleted. */
  forgetNoted(): void;
  /** Forgets the counts of undelivered messages, after some were deleted. */
  forgetWaiting(): void;
}

/** The operator methods about access: bans, invitations and group policies (the rest: accounts). */
export type AccessMethod =
  | "addBan"
  | "removeBan"
  | "bans"
  | "createInvite"
  | "useInvite"
  | "invites"
  | "setGroupPolicy"
  | "groupPolicies";

export type OperatorMethods = Pick<
  Store,
  | "listAccounts"
  | "accountSummary"
  | "setRole"
  | "touchAccount"
  | "deleteAccount"
  | "addDeletedLogin"
  | "deletedLogins"
  | AccessMethod
>;

const SUMMARY = "SELECT key, login, created, last_seen, role FROM accounts";

/** The operator methods of the SQLite store: its accounts' and its access rules'. */
export function operatorMethods(db: OperatorSql): OperatorMethods {
  return { ...accountMethods(db), ...accessMethods(db) };
}

/** Account summaries, roles, deletion and the deleted logins. */
function accountMethods(db: OperatorSql): Omit<OperatorMethods, AccessMethod> {
  const { sql, write } = db;
  return {
    listAccounts: () => sql(`${SUMMARY} ORDER BY key`).all().map(summary),

    accountSummary(key) {
      const row = sql(`${SUMMARY} WHERE key = ?`).get(key);
      return row ? summary(row) : undefined;
    },

    setRole(key: string, role: Role) {
      write("UPDATE accounts SET role = ? WHERE key = ?", role, key);
    },

    touchAccount(key, lastSeen) {
      write("UPDATE accounts SET last_seen = ? WHERE key = ?", lastSeen, key);
    },

    deleteAccount(key) {
      db.flushPages();
      const convs = sql("SELECT conv FROM direct_convs WHERE account = ?").all(key)
        .map((row) => String(row.conv));
      for (const conv of convs) {
        write("DELETE FROM pages WHERE conv = ?", conv);
        write("DELETE FROM direct_convs WHERE conv = ?", conv);
        write("DELETE FROM undelivered WHERE conv = ?", conv);
      }
      db.forgetNoted();
      db.forgetWaiting();
      write("DELETE FROM tokens WHERE account = ?", key);
      write("DELETE FROM members WHERE account = ?", key);
      write("DELETE FROM undelivered WHERE account = ?", key);
      write("DELETE FROM accounts WHERE key = ?", key);
    },

    addDeletedLogin(row: DeletedLogin) {
      write(
        "INSERT INTO deleted_logins (key, login, deleted, reserved_until, last_message) " +
          "VALUES (?,?,?,?,?)",
        row.key,
        row.login,
        row.deleted,
        row.reservedUntil,
        row.lastMessageId,
      );
    },

    deletedLogins: () =>
      sql(
        "SELECT key, login, deleted, reserved_until, last_message FROM deleted_logins " +
          "ORDER BY rowid",
      ).all().map(deletedLogin),
  };
}

/** Who may come in and where: bans, invitations and group policies. */
function accessMethods(db: OperatorSql): Pick<OperatorMethods, AccessMethod> {
  const { sql, write } = db;
  return {
    addBan(entry) {
      write(
        "INSERT OR REPLACE INTO bans (kind, target, reason, by, created, expires) " +
          "VALUES (?,?,?,?,?,?)",
        entry.kind,
        entry.target,
        entry.reason,
        entry.by,
        entry.created,
        entry.expires ?? null,
      );
    },

    removeBan(kind, target) {
      return Number(write("DELETE FROM bans WHERE kind = ? AND target = ?", kind, target).changes) >
        0;
    },

    bans: (now) =>
      sql(
        "SELECT kind, target, reason, by, created, expires FROM bans " +
          "WHERE expires IS NULL OR expires > ? ORDER BY created, kind, target",
      ).all(now).map(ban),

    createInvite(entry) {
      write(
        "INSERT INTO invites (hash, uses, created, expires, by) VALUES (?,?,?,?,?)",
        entry.hash,
        entry.uses,
        entry.created,
        entry.expires ?? null,
        entry.by,
      );
    },

    useInvite(hash, now) {
      const row = sql(
        "SELECT uses FROM invites WHERE hash = ? AND uses > 0 AND (expires IS NULL OR expires > ?)",
      ).get(hash, now);
      if (!row) return false;
      if (Number(row.uses) <= 1) write("DELETE FROM invites WHERE hash = ?", hash);
      else write("UPDATE invites SET uses = uses - 1 WHERE hash = ?", hash);
      return true;
    },

    invites: (now) =>
      sql(
        "SELECT hash, uses, created, expires, by FROM invites " +
          "WHERE uses > 0 AND (expires IS NULL OR expires > ?) ORDER BY created, hash",
      ).all(now).map(invite),

    setGroupPolicy(key, policy: GroupPolicy) {
      const empty = !policy.topic && !policy.inviteOnly &&
        Object.keys(policy.banned ?? {}).length === 0 && (policy.invited ?? []).length === 0;
      write(
        "UPDATE groups SET policy = ? WHERE key = ?",
        empty ? null : JSON.stringify(policy),
        key,
      );
    },

    groupPolicies() {
      const policies = new Map<string, GroupPolicy>();
      for (const row of sql("SELECT key, policy FROM groups WHERE policy IS NOT NULL").all()) {
        policies.set(String(row.key), JSON.parse(String(row.policy)) as GroupPolicy);
      }
      return policies;
    },
  };
}
