// The SQLite store's identity tables: accounts, session tokens, groups and memberships, and the
// plugins' key-value storage. Plain statements over the store's connection (see sqlite.ts).

import type { AccountRow, Store, StoredGroup } from "./store.ts";
import { groupsFromRows } from "./rows.ts";
import type { OperatorSql } from "./sqlite_operator.ts";

/** The identity methods about accounts and their session tokens (the rest: groups, plugin storage). */
export type CredentialMethod =
  | "account"
  | "createAccount"
  | "setPassword"
  | "accountCount"
  | "saveToken"
  | "tokenAccount"
  | "dropTokens"
  | "dropToken";

/** The Store methods this module implements. */
export type IdentityMethods = Pick<
  Store,
  | CredentialMethod
  | "loadGroups"
  | "createGroup"
  | "deleteGroup"
  | "setOwner"
  | "addMember"
  | "removeMember"
  | "pluginValue"
  | "setPluginValue"
  | "deletePluginValue"
  | "pluginKeys"
>;

/** The identity methods over the store's statements and turn transaction. */
export function identityMethods(db: Pick<OperatorSql, "sql" | "write">): IdentityMethods {
  return { ...credentialMethods(db), ...groupMethods(db) };
}

/** Accounts and session tokens. */
function credentialMethods(
  db: Pick<OperatorSql, "sql" | "write">,
): Pick<IdentityMethods, CredentialMethod> {
  const { sql, write } = db;
  return {
    // ---- accounts ----

    account(key: string): AccountRow | undefined {
      return sql("SELECT key, login, password, created FROM accounts WHERE key = ?").get(key) as
        | AccountRow
        | undefined;
    },

    createAccount(row: AccountRow): void {
      write(
        "INSERT INTO accounts (key, login, password, created) VALUES (?,?,?,?)",
        row.key,
        row.login,
        row.password,
        row.created,
      );
    },

    setPassword(key: string, password: string): void {
      write("UPDATE accounts SET password = ? WHERE key = ?", password, key);
    },

    accountCount(): number {
      return Number(sql("SELECT count(*) AS n FROM accounts").get()?.n ?? 0);
    },

    // ---- session tokens ----

    saveToken(hash: string, account: string, created: number, expires: number): void {
      write(
        "INSERT INTO tokens (hash, account, created, expires) VALUES (?,?,?,?)",
        hash,
        account,
        created,
        expires,
      );
    },

    /** The account a token hash belongs to, when it exists and has not expired. */
    tokenAccount(hash: string, now: number): string | undefined {
      const row = sql("SELECT account FROM tokens WHERE hash = ? AND expires > ?").get(hash, now);
      return row ? String(row.account) : undefined;
    },

    dropTokens(account: string): void {
      write("DELETE FROM tokens WHERE account = ?", account);
    },

    dropToken(hash: string): void {
      write("DELETE FROM tokens WHERE hash = ?", hash);
    },
  };
}

/** Groups and their members, and the plugins' key-value storage. */
function groupMethods(
  db: Pick<OperatorSql, "sql" | "write">,
): Omit<IdentityMethods, CredentialMethod> {
  const { sql, write } = db;
  return {
    // ---- groups ----

    loadGroups(): StoredGroup[] {
      return groupsFromRows(
        sql("SELECT key, name, owner, created FROM groups ORDER BY key").all(),
        sql("SELECT grp, account, login FROM members ORDER BY joined, rowid").all(),
      );
    },

    createGroup(group: { key: string; name: string; ownerKey: string; created: number }): void {
      write(
        "INSERT INTO groups (key, name, owner, created) VALUES (?,?,?,?)",
        group.key,
        group.name,
        group.ownerKey,
        group.created,
      );
    },

    deleteGroup(key: string): void {
      write("DELETE FROM members WHERE grp = ?", key);
      write("DELETE FROM groups WHERE key = ?", key);
    },

    setOwner(key: string, ownerKey: string): void {
      write("UPDATE groups SET owner = ? WHERE key = ?", ownerKey, key);
    },

    addMember(group: string, account: string, login: string, joined: number): void {
      write(
        "INSERT OR IGNORE INTO members (grp, account, login, joined) VALUES (?,?,?,?)",
        group,
        account,
        login,
        joined,
      );
    },

    removeMember(group: string, account: string): void {
      write("DELETE FROM members WHERE grp = ? AND account = ?", group, account);
    },

    // ---- plugin storage ----

    pluginValue(plugin: string, key: string): string | undefined {
      const row = sql("SELECT value FROM plugin_values WHERE plugin = ? AND key = ?").get(
        plugin,
        key,
      );
      return row === undefined ? undefined : String(row.value);
    },

    setPluginValue(plugin: string, key: string, value: string): void {
      write(
        "INSERT INTO plugin_values (plugin, key, value) VALUES (?,?,?) " +
          "ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value",
        plugin,
        key,
        value,
      );
    },

    deletePluginValue(plugin: string, key: string): void {
      write("DELETE FROM plugin_values WHERE plugin = ? AND key = ?", plugin, key);
    },

    pluginKeys(plugin: string, prefix: string, limit: number): string[] {
      // A range rather than LIKE: prefixes may hold '%' and '_', and the range uses the key order.
      return sql(
        "SELECT key FROM plugin_values WHERE plugin = ? AND key >= ? AND substr(key, 1, ?) = ? " +
          "ORDER BY key LIMIT ?",
      ).all(plugin, prefix, prefix.length, prefix, limit).map((row) => String(row.key));
    },
  };
}
