// The PostgreSQL store's identity tables: accounts, session tokens, groups and memberships, and the
// plugins' key-value storage. Part of the PostgreSQL store (postgres.ts spreads these methods into it).

import { ChatError } from "../../../protocol/errors.ts";
import { groupsFromRows } from "./rows.ts";
import type { CredentialMethod, IdentityMethods } from "./sqlite_identity.ts";
import { markWrite, type PgTurn, query, write } from "./postgres_turn.ts";
import type { Param } from "./postgres_worker.ts";
import type { AccountRow, StoredGroup } from "./store.ts";

/** The identity methods of the PostgreSQL store. */
export function pgIdentityMethods(turn: PgTurn): IdentityMethods {
  return { ...credentialMethods(turn), ...groupMethods(turn) };
}

/** Accounts and session tokens. */
function credentialMethods(turn: PgTurn): Pick<IdentityMethods, CredentialMethod> {
  return {
    account(key: string): AccountRow | undefined {
      const [row] = query(
        turn,
        "SELECT key, login, password, created FROM accounts WHERE key = $1",
        [
          key,
        ],
      );
      return row ? row as unknown as AccountRow : undefined;
    },

    createAccount(row: AccountRow): void {
      const created = insertNow(
        turn,
        "INSERT INTO accounts (key, login, password, created) VALUES ($1,$2,$3,$4)",
        [row.key, row.login, row.password, row.created],
      );
      if (!created) {
        // Another node registered it since this one looked: the login's answer to such a race.
        throw new ChatError(
          "wrong_password",
          `Cannot log in as "${row.login}": the login was just taken`,
        );
      }
    },

    setPassword(key: string, password: string): void {
      write(turn, "UPDATE accounts SET password = $1 WHERE key = $2", password, key);
    },

    accountCount(): number {
      return Number(query(turn, "SELECT count(*) AS n FROM accounts")[0]?.n ?? 0);
    },

    saveToken(hash: string, account: string, created: number, expires: number): void {
      write(
        turn,
        "INSERT INTO tokens (hash, account, created, expires) VALUES ($1,$2,$3,$4)",
        hash,
        account,
        created,
        expires,
      );
    },

    tokenAccount(hash: string, now: number): string | undefined {
      const [row] = query(turn, "SELECT account FROM tokens WHERE hash = $1 AND expires > $2", [
        hash,
        now,
      ]);
      return row ? String(row.account) : undefined;
    },

    dropTokens(account: string): void {
      write(turn, "DELETE FROM tokens WHERE account = $1", account);
    },

    dropToken(hash: string): void {
      write(turn, "DELETE FROM tokens WHERE hash = $1", hash);
    },
  };
}

/** Groups and their members, and the plugins' key-value storage. */
function groupMethods(turn: PgTurn): Omit<IdentityMethods, CredentialMethod> {
  return {
    loadGroups(): StoredGroup[] {
      return groupsFromRows(
        query(turn, "SELECT key, name, owner, created FROM groups ORDER BY key"),
        query(turn, "SELECT grp, account, login FROM members ORDER BY joined, seq"),
      );
    },

    createGroup(group: { key: string; name: string; ownerKey: string; created: number }): void {
      const created = insertNow(
        turn,
        "INSERT INTO groups (key, name, owner, created) VALUES ($1,$2,$3,$4)",
        [group.key, group.name, group.ownerKey, group.created],
      );
      if (!created) {
        throw new ChatError(
          "group_exists",
          `Cannot create group "${group.name}": it already exists`,
        );
      }
    },

    deleteGroup(key: string): void {
      write(turn, "DELETE FROM members WHERE grp = $1", key);
      write(turn, "DELETE FROM groups WHERE key = $1", key);
    },

    setOwner(key: string, ownerKey: string): void {
      write(turn, "UPDATE groups SET owner = $1 WHERE key = $2", ownerKey, key);
    },

    addMember(group: string, account: string, login: string, joined: number): void {
      write(
        turn,
        `INSERT INTO members (grp, account, login, joined) VALUES ($1,$2,$3,$4)
           ON CONFLICT DO NOTHING`,
        group,
        account,
        login,
        joined,
      );
    },

    removeMember(group: string, account: string): void {
      write(turn, "DELETE FROM members WHERE grp = $1 AND account = $2", group, account);
    },

    pluginValue(plugin: string, key: string): string | undefined {
      const [row] = query(
        turn,
        "SELECT value FROM plugin_values WHERE plugin = $1 AND key = $2",
        [plugin, key],
      );
      return row ? String(row.value) : undefined;
    },

    setPluginValue(plugin: string, key: string, value: string): void {
      write(
        turn,
        `INSERT INTO plugin_values (plugin, key, value) VALUES ($1,$2,$3)
           ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value`,
        plugin,
        key,
        value,
      );
    },

    deletePluginValue(plugin: string, key: string): void {
      write(turn, "DELETE FROM plugin_values WHERE plugin = $1 AND key = $2", plugin, key);
    },

    pluginKeys(plugin: string, prefix: string, limit: number): string[] {
      // A range rather than LIKE: prefixes may hold '%' and '_'. Keys compare bytewise (COLLATE "C").
      return query(
        turn,
        `SELECT key FROM plugin_values WHERE plugin = $1 AND key >= $2
           AND left(key, $3) = $2 ORDER BY key COLLATE "C" LIMIT $4`,
        [plugin, prefix, prefix.length, limit],
      ).map((row) => String(row.key));
    },
  };
}

/**
 * Inserts a row keyed by its first column now, not at commit, and says whether it was new: a taken
 * key leaves the turn's transaction alive (ON CONFLICT DO NOTHING), and a node inserting the same
 * key at once waits here for the other's commit, then finds it taken.
 */
function insertNow(turn: PgTurn, insert: string, params: Param[]): boolean {
  markWrite(turn);
  return query(turn, `${insert} ON CONFLICT DO NOTHING RETURNING key`, params, true).length > 0;
}
