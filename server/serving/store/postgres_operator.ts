// The PostgreSQL store's operator tables: account summaries and deletion, bans, invitations, group
// policies. Part of the PostgreSQL store (postgres.ts spreads these methods into it).

import { ban, deletedLogin, invite, summary } from "./rows.ts";
import type { AccessMethod, OperatorMethods } from "./sqlite_operator.ts";
import {
  flushPages,
  forgetNoted,
  forgetWaiting,
  markWrite,
  type PgTurn,
  query,
  write,
} from "./postgres_turn.ts";
import type { DeletedLogin, GroupPolicy, Role } from "./store.ts";

const SUMMARY = "SELECT key, login, created, last_seen, role FROM accounts";

/** The operator methods of the PostgreSQL store: its accounts' and its access rules'. */
export function pgOperatorMethods(turn: PgTurn): OperatorMethods {
  return { ...accountMethods(turn), ...accessMethods(turn) };
}

/** Account summaries, roles, deletion and the deleted logins. */
function accountMethods(turn: PgTurn): Omit<OperatorMethods, AccessMethod> {
  return {
    listAccounts: () => query(turn, `${SUMMARY} ORDER BY key`).map(summary),

    accountSummary(key) {
      const [row] = query(turn, `${SUMMARY} WHERE key = $1`, [key]);
      return row ? summary(row) : undefined;
    },

    setRole(key: string, role: Role) {
      write(turn, "UPDATE accounts SET role = $1 WHERE key = $2", role, key);
    },

    touchAccount(key, lastSeen) {
      write(turn, "UPDATE accounts SET last_seen = $1 WHERE key = $2", lastSeen, key);
    },

    deleteAccount(key) {
      flushPages(turn);
      const convs = query(turn, "SELECT conv FROM direct_convs WHERE account = $1", [key])
        .map((row) => String(row.conv));
      if (convs.length > 0) {
        for (const table of ["pages", "direct_convs", "undelivered"]) {
          write(turn, `DELETE FROM ${table} WHERE conv = ANY($1::text[])`, convs);
        }
      }
      forgetNoted(turn);
      forgetWaiting(turn);
      write(turn, "DELETE FROM tokens WHERE account = $1", key);
      write(turn, "DELETE FROM members WHERE account = $1", key);
      write(turn, "DELETE FROM undelivered WHERE account = $1", key);
      write(turn, "DELETE FROM accounts WHERE key = $1", key);
    },

    addDeletedLogin(row: DeletedLogin) {
      write(
        turn,
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
        turn,
        `SELECT key, login, deleted, reserved_until, last_message FROM deleted_logins
           ORDER BY seq`,
      ).map(deletedLogin),
  };
}

/** Who may come in and where: bans, invitations and group policies. */
function accessMethods(turn: PgTurn): Pick<OperatorMethods, AccessMethod> {
  return {
    addBan(entry) {
      write(
        turn,
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
      markWrite(turn);
      return query(turn, "DELETE FROM bans WHERE kind = $1 AND target = $2 RETURNING kind", [
        kind,
        target,
      ], true).length > 0;
    },

    bans: (now) =>
      query(
        turn,
        `SELECT kind, target, reason, by, created, expires FROM bans
           WHERE expires IS NULL OR expires > $1 ORDER BY created, kind, target COLLATE "C"`,
        [now],
      ).map(ban),

    createInvite(entry) {
      write(
        turn,
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
      markWrite(turn);
      const [row] = query(
        turn,
        `UPDATE invites SET uses = uses - 1
           WHERE hash = $1 AND uses > 0 AND (expires IS NULL OR expires > $2) RETURNING uses`,
        [hash, now],
        true,
      );
      if (!row) return false;
      if (Number(row.uses) <= 0) write(turn, "DELETE FROM invites WHERE hash = $1", hash);
      return true;
    },

    invites: (now) =>
      query(
        turn,
        `SELECT hash, uses, created, expires, by FROM invites
           WHERE uses > 0 AND (expires IS NULL OR expires > $1) ORDER BY created, hash COLLATE "C"`,
        [now],
      ).map(invite),

    setGroupPolicy(key, policy: GroupPolicy) {
      const empty = !policy.topic && !policy.inviteOnly &&
        Object.keys(policy.banned ?? {}).length === 0 && (policy.invited ?? []).length === 0;
      write(
        turn,
        "UPDATE groups SET policy = $1 WHERE key = $2",
        empty ? null : JSON.stringify(policy),
        key,
      );
    },

    groupPolicies() {
      const policies = new Map<string, GroupPolicy>();
      for (const row of query(turn, "SELECT key, policy FROM groups WHERE policy IS NOT NULL")) {
        policies.set(String(row.key), JSON.parse(String(row.policy)) as GroupPolicy);
      }
      return policies;
    },
  };
}
