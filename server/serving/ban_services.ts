// Bans and moderation on the serving thread: ban and unban logins and address ranges (stored, kept
// in the ban list, logged), and what operators do from their chat client (kick, ban, broadcast).

import { isValidName, MAX_TEXT_LENGTH, nameKey } from "../../protocol/mod.ts";
import { ChatError } from "../errors.ts";
import { parseAddressRange } from "./bans.ts";
import type { Actor } from "./bound_services.ts";
import type { Moderation } from "./chat.ts";
import { iso, type OperatorServicesDeps, requireLogin } from "./operator_deps.ts";
import type { Ban } from "./store/store.ts";

/** Builds the ban services over the store, the ban list and the session endings. */
export function createBanServices(
  deps: Pick<
    OperatorServicesDeps,
    "store" | "chat" | "bans" | "log" | "now" | "endSessions" | "deletedLogins" | "closeConnections"
  >,
) {
  const { store, chat, bans, log, now } = deps;

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
    // An address ban also closes what is open from the range: its sessions end as lost connections.
    const closed = entry.kind === "address"
      ? deps.closeConnections?.((address) => bans.address(address, now()) !== undefined) ?? 0
      : 0;
    log.warn("ban", {
      kind: entry.kind,
      target: entry.target,
      by: options.by,
      expires,
      reason,
      ...(entry.kind === "address" ? { connectionsClosed: closed } : {}),
    });
    return { ban: entry, sessions: ended, connections: closed, until };
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
    ban,
    unban,
    moderation,
    /** The bans in force. */
    list: () => bans.list(now()),
    /** Reads the bans from the store again (SIGHUP); true when the bans in force changed. */
    reload(): boolean {
      deps.deletedLogins.reload(store.deletedLogins()); // as for the bans: other nodes delete too
      const changed = bans.replace(store.bans(now()), now());
      if (changed) log.info("bans_reloaded", { bans: bans.list(now()).length });
      return changed;
    },
  };
}
