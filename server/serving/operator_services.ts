// The operator's services on the serving thread: accounts (add, passwd, del, list, show, role),
// invitations, bans, and the moderation operators use from their chat client. Every action is logged.

import { randomBytes } from "node:crypto";
import { isValidName, MAX_TEXT_LENGTH, NAME_RULE, nameKey } from "../../protocol/mod.ts";
import type { Actor } from "./bound_services.ts";
import type { ErrorCode } from "../../protocol/mod.ts";
import { ChatError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { type BanList, parseAddressRange } from "./bans.ts";
import type { ChatCore, Moderation } from "./chat.ts";
import type { DeletedLoginTable } from "./deleted_logins.ts";
import { hashPassword, tokenHash } from "./passwords.ts";
import type { SessionDirectory } from "./shared_state.ts";
import type { Ban, Role, Store } from "./store/store.ts";

/** What the operator services work with. */
export interface OperatorServicesDeps {
  store: Store;
  sessions: SessionDirectory;
  chat: ChatCore;
  bans: BanList;
  deletedLogins: DeletedLoginTable;
  log: Logger;
  now: () => number;
  /** Ends every session of an account with a `bye`; returns how many. */
  endSessions(account: string, code: ErrorCode, message: string, reason: string): number;
  /** How long a deleted login stays reserved. */
  reserveMs(): number;
}

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

/** Builds the operator services. */
export function createOperatorServices(deps: OperatorServicesDeps) {
  const { store, sessions, chat, bans, log, now } = deps;

  function requireLogin(login: string, action: string): string {
    if (!isValidName(login)) {
      throw new ChatError(
        "invalid_name",
        `Cannot ${action} "${login.slice(0, 40)}": logins are ${NAME_RULE}`,
      );
    }
    return nameKey(login);
  }

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

  /** Bans a login or an address range; `by` is `operator` or an operator's login. */
  function ban(target: string, options: { durationMs?: number; reason: string; by: string }) {
    const reason = options.reason.slice(0, MAX_TEXT_LENGTH);
    const expires = options.durationMs === undefined ? undefined : now() + options.durationMs;
    const range = isValidName(target) ? undefined : parseAddressRange(target);
    if (!range && !isValidName(target)) {
      throw new ChatError(
        "bad_arguments",
        `Cannot ban "${target.slice(0, 60)}": neither a login nor an address or CIDR range`,
      );
    }
    const entry: Ban = {
      kind: range ? "address" : "login",
      target: range ?? nameKey(target),
      reason,
      by: options.by,
      created: now(),
      ...(expires !== undefined ? { expires } : {}),
    };
    if (entry.kind === "login" && !store.account(entry.target)) {
      throw new ChatError("no_such_user", `Cannot ban "${target}": no such account`);
    }
    store.addBan(entry);
    bans.add(entry);
    const until = expires === undefined ? "until lifted" : `until ${iso(expires)}`;
    const ended = entry.kind === "login"
      ? deps.endSessions(
        entry.target,
        "banned",
        `Banned ${until}${reason ? `: ${reason}` : ""}`,
        "banned",
      )
      : 0;
    log.warn("ban", { kind: entry.kind, target: entry.target, by: options.by, expires, reason });
    return { ban: entry, sessions: ended, until };
  }

  function unban(target: string, by: string): Ban["kind"] {
    const range = isValidName(target) ? undefined : parseAddressRange(target);
    const kind = range ? "address" : "login";
    const key = range ?? nameKey(target);
    if (!store.removeBan(kind, key)) {
      throw new ChatError("bad_arguments", `Cannot unban "${target.slice(0, 60)}": not banned`);
    }
    bans.remove(kind, key);
    log.warn("unban", { kind, target: key, by });
    return kind;
  }

  function requireOperator(caller: Actor, action: string): void {
    if (store.accountSummary(nameKey(caller.login))?.role !== "operator") {
      throw new ChatError("forbidden", `Cannot ${action}: only operators can`);
    }
  }

  const moderation: Moderation = {
    kick(by, login, reason) {
      requireOperator(by, "kick");
      const key = requireLogin(login, "kick");
      const text = reason ? `Kicked by ${by.login}: ${reason}` : `Kicked by ${by.login}`;
      const n = deps.endSessions(key, "kicked", text, "kicked");
      log.warn("moderator_kick", { login, by: by.login, sessions: n });
      if (n === 0) throw new ChatError("user_offline", `Cannot kick "${login}": not online`);
      return n;
    },
    ban(by, target, options) {
      requireOperator(by, "ban");
      if (nameKey(target) === nameKey(by.login)) {
        throw new ChatError("forbidden", `Cannot ban "${target}": that is you`);
      }
      const done = ban(target, { ...options, by: by.login });
      return `Banned ${target} ${done.until}`;
    },
    unban(by, target) {
      requireOperator(by, "unban");
      unban(target, by.login);
    },
    broadcast(by, text) {
      requireOperator(by, "broadcast");
      chat.broadcast(`${by.login}: ${text}`);
      log.warn("moderator_broadcast", { by: by.login });
    },
  };

  return {
    moderation,

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

    ban: (target: string, options: { durationMs?: number; reason: string }) =>
      ban(target, { ...options, by: "operator" }),
    unban: (target: string) => unban(target, "operator"),
    bans: () => bans.list(now()),

    /** Reads the bans from the store again (SIGHUP); true when the bans in force changed. */
    reloadBans(): boolean {
      const changed = bans.replace(store.bans(now()), now());
      if (changed) log.info("bans_reloaded", { bans: bans.list(now()).length });
      return changed;
    },

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

/** A case-insensitive matcher for a shell-style pattern (`*`, `?`). */
function globMatcher(pattern: string): (login: string) => boolean {
  const source = pattern.toLowerCase().replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replaceAll("*", ".*").replaceAll("?", ".");
  const regex = new RegExp(`^${source}$`);
  return (login) => regex.test(login.toLowerCase());
}

function iso(ts: number): string {
  return new Date(ts).toISOString().replace("T", " ").slice(0, 16) + "Z";
}
