// The PostgreSQL store's operator tables: account summaries and deletion, bans, invitations, group
// policies. Part of the PostgreSQL store (postgres.ts spreads these methods into it).

import { ban, deletedLogin, invite, summary } from "./rows.ts";
import type { OperatorMethods } from "./sqlite_operator.ts";
import type { Param, Row } from "./postgres_worker.ts";
import type { DeletedLogin, GroupPolicy, Role } from "./store.ts";

/** What the operator tables need from the PostgreSQL store. */
export interface OperatorPg {
  /** Runs a statement now, after the staged writes; inside the turn's transaction with `transaction`. */
  query(text: string, params?: Param[], transaction?: boolean): Row[];
  /** Stages a write for the turn's commit. */
  write(text: string, ...params: Param[]): void;
  /** Stages the messages buffered for commit, before a delete that must see them. */
  flushPages(): void;
  /** Forgets which direct conversations are noted, after some were deleted. */
  forgetNoted(): void;
  /** Forgets the turn's counts of undelivered messages, after some were deleted. */
  forgetWaiting(): void;
  /** Notes that the turn wrote, when a write is sent at once rather than staged. */
  markWrite(): void;
}

const SUMMARY = "SELECT key, login, created, last_seen, role FROM accounts";

/** The operator methods of the PostgreSQL store: its accounts' and its access rules'. */
export function pgOperatorMethods(db: OperatorPg): OperatorMethods {
  return { ...accountMethods(db), ...accessMethods(db) };
}

/** Account summaries, roles, deletion and the deleted logins. */
function accountMethods(db: OperatorPg): Omit<OperatorMethods, AccessMethod> {
  const { query, write } = db;
  return {
    listAccounts: () => query(`${SUMMARY} ORDER BY key`).map(summary),

    accountSummary(key) {
      const [row] = query(`${SUMMARY} WHERE key = $1`, [key]);
      return row ? summary(row) : undefined;
    },

    setRole(key: string, role: Role) {
      write("UPDATE accounts SET role = $1 WHERE key = $2", role, key);
    },

    touchAccount(key, lastSeen) {
      write("UPDATE accounts SET last_seen = $1 WHERE key = $2", lastSeen, key);
    },

    deleteAccount(key) {
      db.flushPages();
      const convs = query("SELECT conv FROM direct_convs WHERE account = $1", [key])
        .map((row) => String(row.conv));
      if (convs.length > 0) {
        for (const table of ["pages", "direct_convs", "undelivered"]) {
          write(`DELETE FROM ${table} WHERE conv = ANY($1::text[])`, convs);
        }
      }
      db.forgetNoted();
      db.forgetWaiting();
      write("DELETE FROM tokens WHERE account = $1", key);
      write("DELETE FROM members WHERE account = $1", key);
      write("DELETE FROM undelivered WHERE account = $1", key);
      write("DELETE FROM accounts WHERE key = $1", key);
    },

    addDeletedLogin(row: DeletedLogin) {
      write(
        `INSERT INTO deleted_logins (key, login, deleted, reserved_until, last_message)
           VALUES ($1,$2,$3,$4,$5)`,
        row.key,
        row.login,
        row.deleted,
        row.reservedUntil,
        row.lastMessageId,
      );
    },

    deletedLogins: () =>
      query(
        `SELECT key, login, deleted, reserved_until, last_message FROM deleted_logins
           ORDER BY seq`,
      ).map(deletedLogin),
  };
}

/** The operator methods about access, which accessMethods makes. */
type AccessMethod =
  | "addBan"
  | "removeBan"
  | "bans"
  | "createInvite"
  | "useInvite"
  | "invites"
  | "setGroupPolicy"
  | "groupPolicies";

/** Who may come in and where: bans, invitations and group policies. */
function accessMethods(db: OperatorPg): Pick<OperatorMethods, AccessMethod> {
  const { query, write } = db;
  return {
    addBan(entry) {
      write(
        `INSERT INTO bans (kind, target, reason, by, created, expires) VALUES ($1,$2,$3,$4,$5,$6)
           ON CONFLICT (kind, target) DO UPDATE SET reason = excluded.reason, by = excluded.by,
             created = excluded.created, expires = excluded.expires`,
        entry.kind,
        entry.target,
        entry.reason,
        entry.by,
        entry.created,
        entry.expires ?? null,
      );
    },

    removeBan(kind, target) {
      db.markWrite();
      return query(
        "DELETE FROM bans WHERE kind = $1 AND target = $2 RETURNING kind",
        [kind, target],
        true,
      ).length > 0;
    },

    bans: (now) =>
      query(
        `SELECT kind, target, reason, by, created, expires FROM bans
           WHERE expires IS NULL OR expires > $1 ORDER BY created, kind, target COLLATE "C"`,
        [now],
      ).map(ban),

    createInvite(entry) {
      write(
        "INSERT INTO invites (hash, uses, created, expires, by) VALUES ($1,$2,$3,$4,$5)",
        entry.hash,
        entry.uses,
        entry.created,
        entry.expires ?? null,
        entry.by,
      );
    },

    useInvite(hash, now) {
      // One statement that takes a use: two nodes cannot both spend an invitation's last use.
      db.markWrite();
      const [row] = query(
        `UPDATE invites SET uses = uses - 1
           WHERE hash = $1 AND uses > 0 AND (expires IS NULL OR expires > $2) RETURNING uses`,
        [hash, now],
        true,
      );
      if (!row) return false;
      if (Number(row.uses) <= 0) write("DELETE FROM invites WHERE hash = $1", hash);
      return true;
    },

    invites: (now) =>
      query(
        `SELECT hash, uses, created, expires, by FROM invites
           WHERE uses > 0 AND (expires IS NULL OR expires > $1) ORDER BY created, hash COLLATE "C"`,
        [now],
      ).map(invite),

    setGroupPolicy(key, policy: GroupPolicy) {
      const empty = !policy.topic && !policy.inviteOnly &&
        Object.keys(policy.banned ?? {}).length === 0 && (policy.invited ?? []).length === 0;
      write(
        "UPDATE groups SET policy = $1 WHERE key = $2",
        empty ? null : JSON.stringify(policy),
        key,
      );
    },

    groupPolicies() {
      const policies = new Map<string, GroupPolicy>();
      for (const row of query("SELECT key, policy FROM groups WHERE policy IS NOT NULL")) {
        policies.set(String(row.key), JSON.parse(String(row.policy)) as GroupPolicy);
      }
      return policies;
    },
  };
}
