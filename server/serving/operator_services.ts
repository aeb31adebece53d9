// The operator's services on the serving thread: accounts (add, passwd, del, list, show, role) and
// invitations, with the bans and moderation of ban_services.ts. Every action is logged.

import { randomBytes } from "node:crypto";
import { nameKey } from "../../protocol/mod.ts";
import { ChatError } from "../errors.ts";
import { createBanServices } from "./ban_services.ts";
import { hashPassword, tokenHash } from "./passwords.ts";
import { iso, type OperatorServicesDeps, requireLogin } from "./operator_deps.ts";
import type { Role } from "./store/store.ts";

/** One account as `user list` and `user show` present it. */
export interface UserView {
  login: string;
  created: number;
  lastSeen?: number;
  role: Role;
  sessions: number;
  groups: string[];
  /** Groups it owns. */
  owns: string[];
  banned?: { reason: string; expires?: number };
}

/** What deleting an account did. */
export interface DeletedUser {
  login: string;
  sessions: number;
  /** Groups that went with it (it was their last member). */
  groupsDeleted: string[];
  /** Groups it owned that another member took over. */
  groupsHandedOver: { group: string; owner: string }[];
  reservedUntil: number;
}

/** A new invitation: the code is shown once and only its hash is kept. */
export interface CreatedInvite {
  code: string;
  uses: number;
  expires?: number;
}

/** The operator services. */
export type OperatorServices = ReturnType<typeof createOperatorServices>;

/** Bytes of randomness in an invitation code: 80 bits, written as 20 hex digits. */
const INVITE_BYTES = 10;

/** Hex SHA-256 of an invitation code, as the store keeps it (as session tokens are kept). */
export function inviteHash(code: string): string {
  return tokenHash(code.trim().toLowerCase());
}

/** The shared checks and views of the account methods. */
function accountHelpers(deps: OperatorServicesDeps) {
  const { store, sessions, chat, bans, now } = deps;

  function requireAccount(login: string, action: string) {
    const key = requireLogin(login, action);
    const found = store.accountSummary(key);
    if (!found) throw new ChatError("no_such_user", `Cannot ${action} "${login}": no such account`);
    return found;
  }

  function requirePassword(password: string, action: string): void {
    if (password.length === 0) {
      throw new ChatError("bad_password", `Cannot ${action}: the password is empty`);
    }
  }

  function view(key: string): UserView {
    const account = store.accountSummary(key)!;
    const groups = chat.groupsOf(account.login);
    const ban = bans.login(key, now());
    return {
      login: account.login,
      created: account.created,
      ...(account.lastSeen !== undefined ? { lastSeen: account.lastSeen } : {}),
      role: account.role,
      sessions: sessions.of(key).length,
      groups,
      owns: groups.filter((g) => nameKey(chat.group(g)?.owner ?? "") === key),
      ...(ban ? { banned: { reason: ban.reason, expires: ban.expires } } : {}),
    };
  }

  return { requireLogin, requireAccount, requirePassword, view };
}

/** `user add`, `user passwd`, `user del`, `user list`, `user show`, `user role`. */
function accountMethods(deps: OperatorServicesDeps) {
  const { store, chat, log, now } = deps;
  const { requireLogin, requireAccount, requirePassword, view } = accountHelpers(deps);
  return {
    async addUser(login: string, password: string): Promise<UserView> {
      const key = requireLogin(login, "add user");
      requirePassword(password, `add user "${login}"`);
      if (store.account(key)) {
        throw new ChatError("user_exists", `Cannot add user "${login}": the account exists`);
      }
      const reserved = deps.deletedLogins.reservation(key, now());
      if (reserved) {
        throw new ChatError(
          "name_reserved",
          `Cannot add user "${login}": the login of a deleted account, reserved until ${
            iso(reserved.reservedUntil)
          }`,
        );
      }
      const hash = await hashPassword(password);
      if (store.account(key)) {
        throw new ChatError("user_exists", `Cannot add user "${login}": the account exists`);
      }
      store.createAccount({ key, login, password: hash, created: now() });
      log.info("user_add", { login, by: "operator" });
      return view(key);
    },

    async setPassword(login: string, password: string): Promise<number> {
      const account = requireAccount(login, "set the password of");
      requirePassword(password, `set the password of "${login}"`);
      const hash = await hashPassword(password);
      store.setPassword(account.key, hash);
      store.dropTokens(account.key);
      const n = deps.endSessions(
        account.key,
        "kicked",
        "The operator reset your password; log in with the new one",
        "password_reset",
      );
      log.warn("user_passwd", { login: account.login, by: "operator", sessions: n });
      return n;
    },

    deleteUser(login: string): DeletedUser {
      const account = requireAccount(login, "delete user");
      const sessionsEnded = deps.endSessions(
        account.key,
        "account_deleted",
        "The operator deleted this account",
        "account_deleted",
      );
      const caller = { login: account.login, session: "" };
      const result: DeletedUser = {
        login: account.login,
        sessions: sessionsEnded,
        groupsDeleted: [],
        groupsHandedOver: [],
        reservedUntil: now() + deps.reserveMs(),
      };
      for (const group of chat.groupsOf(account.login)) {
        const owned = nameKey(chat.group(group)?.owner ?? "") === account.key;
        chat.leaveGroup(caller, group);
        const after = chat.group(group);
        if (!after) result.groupsDeleted.push(group);
        else if (owned) result.groupsHandedOver.push({ group, owner: after.owner });
      }
      const tombstone = {
        key: account.key,
        login: account.login,
        deleted: now(),
        reservedUntil: result.reservedUntil,
        lastMessageId: store.lastMessageId,
      };
      store.deleteAccount(account.key);
      store.addDeletedLogin(tombstone);
      deps.deletedLogins.add(tombstone);
      log.warn("user_del", {
        login: account.login,
        by: "operator",
        sessions: sessionsEnded,
        groups_deleted: result.groupsDeleted.join(","),
        groups_handed_over: result.groupsHandedOver.map((g) => g.group).join(","),
      });
      return result;
    },

    listUsers(pattern?: string): UserView[] {
      const match = pattern ? globMatcher(pattern) : () => true;
      return store.listAccounts().filter((a) => match(a.login)).map((a) => view(a.key));
    },

    showUser(login: string): UserView {
      return view(requireAccount(login, "show user").key);
    },

    setRole(login: string, role: Role): void {
      const account = requireAccount(login, "set the role of");
      store.setRole(account.key, role);
      log.warn("user_role", { login: account.login, role, by: "operator" });
    },
  };
}

/** `invite create`, `invites`, and the deleted logins that clearing every account leaves. */
function inviteMethods(deps: OperatorServicesDeps) {
  const { store, log, now } = deps;
  return {
    createInvite(options: { uses: number; expiresMs?: number }): CreatedInvite {
      const code = randomBytes(INVITE_BYTES).toString("hex");
      const expires = options.expiresMs === undefined ? undefined : now() + options.expiresMs;
      store.createInvite({
        hash: inviteHash(code),
        uses: options.uses,
        created: now(),
        by: "operator",
        ...(expires !== undefined ? { expires } : {}),
      });
      log.info("invite_create", { uses: options.uses, expires, by: "operator" });
      return { code, uses: options.uses, ...(expires !== undefined ? { expires } : {}) };
    },

    invites: () =>
      store.invites(now()).map((i) => ({
        id: i.hash.slice(0, 8),
        uses: i.uses,
        created: i.created,
        ...(i.expires !== undefined ? { expires: i.expires } : {}),
      })),

    /** Records every account as deleted before the identity store is cleared (not reserved). */
    identitiesCleared(accounts: { key: string; login: string }[]): void {
      for (const account of accounts) {
        const tombstone = {
          key: account.key,
          login: account.login,
          deleted: now(),
          reservedUntil: now(),
          lastMessageId: store.lastMessageId,
        };
        store.addDeletedLogin(tombstone);
        deps.deletedLogins.add(tombstone);
      }
    },
  };
}

/** Builds the operator services: accounts, invitations, and the bans of ban_services.ts. */
export function createOperatorServices(deps: OperatorServicesDeps) {
  const banning = createBanServices(deps);
  return {
    moderation: banning.moderation,
    ...accountMethods(deps),
    ...inviteMethods(deps),
    ban: (target: string, options: { durationMs?: number; reason: string }) =>
      banning.ban(target, { ...options, by: "operator" }),
    unban: (target: string) => banning.unban(target, "operator"),
    bans: banning.list,
    reloadBans: banning.reload,
  };
}

/** A case-insensitive matcher for a shell-style pattern (`*`, `?`). */
function globMatcher(pattern: string): (login: string) => boolean {
  const source = pattern.toLowerCase().replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replaceAll("*", ".*").replaceAll("?", ".");
  const regex = new RegExp(`^${source}$`);
  return (login) => regex.test(login.toLowerCase());
}
