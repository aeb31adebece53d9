// The operator's account commands: user add/passwd/del/list/show/role, invitations and bans.
// Part of the operator command table (operator.ts); passwords come from a hidden prompt, stdin or a file.

import { isValidName, NAME_RULE, plural } from "../../protocol/mod.ts";
import { ChatError } from "../errors.ts";
import type { DeletedUser, UserView } from "../serving/operator_services.ts";
import type { Ban } from "../serving/store/store.ts";
import type { OperatorCommand, OperatorContext, OperatorResult } from "./operator_command.ts";

/** Units of a duration as operators write it: `90s`, `30m`, `1h`, `7d`, `2w`. */
const DURATION_UNITS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/** Longest duration accepted: ten years, so an expiry stays a safe integer date. */
const MAX_DURATION_MS = 10 * 365 * 86_400_000;

/** Parses `90s`, `30m`, `1h`, `7d`, `2w`; undefined when the word is not a duration. */
export function parseDuration(word: string): number | undefined {
  const match = /^(\d{1,6})([smhdw])$/.exec(word.trim().toLowerCase());
  if (!match) return undefined;
  const ms = Number(match[1]) * DURATION_UNITS[match[2]];
  return ms > 0 && ms <= MAX_DURATION_MS ? ms : undefined;
}

function words(args: string): string[] {
  return args.trim().split(/\s+/).filter(Boolean);
}

function requireLoginArg(word: string | undefined, usage: string): string {
  if (!word) throw new ChatError("bad_arguments", `Cannot run it: name a login; usage: ${usage}`);
  if (!isValidName(word)) {
    throw new ChatError(
      "invalid_name",
      `Cannot use "${word.slice(0, 40)}": logins are ${NAME_RULE}`,
    );
  }
  return word;
}

function when(ts: number | undefined): string {
  return ts === undefined
    ? "never"
    : new Date(ts).toISOString().replace("T", " ").slice(0, 16) + "Z";
}

function userLine(u: UserView): string {
  const banned = u.banned
    ? `  BANNED until ${u.banned.expires ? when(u.banned.expires) : "lifted"}`
    : "";
  return `  ${u.login.padEnd(20)} ${u.role.padEnd(8)} created ${when(u.created)}  last seen ${
    when(u.lastSeen)
  }  ${plural(u.sessions, "session")}  groups: ${u.groups.join(", ") || "-"}${banned}`;
}

function banLine(b: Ban): string {
  const target = b.kind === "login" ? b.target : `${b.target} (address)`;
  const until = b.expires === undefined ? "until lifted" : `until ${when(b.expires)}`;
  return `  ${target.padEnd(32)} ${until}  by ${b.by}${b.reason ? `: ${b.reason}` : ""}`;
}

/** Runs a serving-thread call and wraps its answer. */
async function call<T>(
  ctx: OperatorContext,
  request: Parameters<OperatorContext["server"]["call"]>[0],
  text: (value: T) => string,
): Promise<OperatorResult> {
  const value = await ctx.server.call<T>(request);
  return { text: text(value), data: value };
}

/** The account, invitation and ban commands, in help order. */
export const ACCOUNT_COMMANDS: readonly OperatorCommand[] = [
  {
    name: "user add",
    usage: "user add <login> [--password-file FILE]",
    summary: "Create an account; the password is asked without echo (or read from stdin or a file)",
    secret: "Password for the new account",
    run(ctx, args, secret) {
      const login = requireLoginArg(words(args)[0], this.usage);
      return call<UserView>(
        ctx,
        { method: "userAdd", login, password: secret ?? "" },
        (u) => `Added ${u.login}`,
      );
    },
  },
  {
    name: "user passwd",
    usage: "user passwd <login> [--password-file FILE]",
    summary: "Set a new password; the account's sessions end and its session tokens stop working",
    secret: "New password",
    run(ctx, args, secret) {
      const login = requireLoginArg(words(args)[0], this.usage);
      return call<number>(
        ctx,
        { method: "userPasswd", login, password: secret ?? "" },
        (n) => `Password of ${login} changed; ${plural(n, "session")} ended`,
      );
    },
  },
  {
    name: "user del",
    usage: "user del <login>",
    summary:
      "Delete an account: its groups go to the next member (or are deleted), its private history goes",
    confirm: "Delete this account, its direct messages, and the groups where it is alone?",
    run(ctx, args) {
      const login = requireLoginArg(words(args)[0], this.usage);
      return call<DeletedUser>(ctx, { method: "userDel", login }, (d) =>
        [
          `Deleted ${d.login} (${
            plural(d.sessions, "session")
          } ended); the login is reserved until ${when(d.reservedUntil)}`,
          ...d.groupsHandedOver.map((g) => `  group ${g.group} now owned by ${g.owner}`),
          ...d.groupsDeleted.map((g) => `  group ${g} deleted (no member left)`),
        ].join("\n"));
    },
  },
  {
    name: "user list",
    usage: "user list [pattern]",
    summary:
      "Accounts (optionally matching a pattern such as bo*): role, created, last seen, groups",
    run(ctx, args) {
      const pattern = words(args)[0];
      return call<UserView[]>(
        ctx,
        { method: "userList", pattern },
        (list) =>
          list.length === 0
            ? pattern ? `No account matches "${pattern}"` : "No accounts"
            : [`${plural(list.length, "account")}:`, ...list.map(userLine)].join("\n"),
      );
    },
  },
  {
    name: "user show",
    usage: "user show <login>",
    summary: "One account in full",
    run(ctx, args) {
      const login = requireLoginArg(words(args)[0], this.usage);
      return call<UserView>(ctx, { method: "userShow", login }, (u) =>
        [
          `login      ${u.login}`,
          `role       ${u.role}`,
          `created    ${when(u.created)}`,
          `last seen  ${when(u.lastSeen)}`,
          `sessions   ${u.sessions}`,
          `groups     ${u.groups.join(", ") || "-"}${
            u.owns.length ? ` (owns ${u.owns.join(", ")})` : ""
          }`,
          `banned     ${
            u.banned
              ? `until ${u.banned.expires ? when(u.banned.expires) : "lifted"}${
                u.banned.reason ? `: ${u.banned.reason}` : ""
              }`
              : "no"
          }`,
        ].join("\n"));
    },
  },
  {
    name: "user role",
    usage: "user role <login> <user|operator>",
    summary:
      "Make an account an operator (kick, ban, broadcast from a chat client) or a user again",
    run(ctx, args) {
      const [word, role] = words(args);
      const login = requireLoginArg(word, this.usage);
      if (role !== "user" && role !== "operator") {
        throw new ChatError(
          "bad_arguments",
          `Cannot set the role of "${login}": say user or operator; usage: ${this.usage}`,
        );
      }
      return call<void>(
        ctx,
        { method: "userRole", login, role },
        () => `${login} is now ${role === "operator" ? "an operator" : "a user"}`,
      );
    },
  },
  {
    name: "invite create",
    usage: "invite create [--uses N] [--expires DURATION]",
    summary:
      "A code that lets new logins register while registration is closed (default: 1 use, 7d)",
    run(ctx, args) {
      const list = words(args);
      let uses = 1;
      let expiresMs: number | undefined = 7 * DURATION_UNITS.d;
      for (let i = 0; i < list.length; i += 2) {
        const [flag, value = ""] = [list[i], list[i + 1]];
        if (flag === "--uses" && /^\d{1,6}$/.test(value) && Number(value) >= 1) {
          uses = Number(value);
        } else if (flag === "--expires" && value === "never") expiresMs = undefined;
        else if (flag === "--expires" && parseDuration(value) !== undefined) {
          expiresMs = parseDuration(value);
        } else {
          throw new ChatError(
            "bad_arguments",
            `Cannot create an invitation: "${flag.slice(0, 20)} ${
              value.slice(0, 20)
            }" is not --uses N (1 or more) nor --expires DURATION (30m, 12h, 7d, never)`,
          );
        }
      }
      return call<{ code: string; uses: number; expires?: number }>(
        ctx,
        { method: "inviteCreate", uses, expiresMs },
        (i) =>
          `Invitation code: ${i.code}\n  for ${i.uses} new logins, until ${
            i.expires ? when(i.expires) : "used up"
          }; give it as: chatz connect --login NAME --invite ${i.code}`,
      );
    },
  },
  {
    name: "invites",
    usage: "invites",
    summary: "Invitations still usable (by the first digits of their hash; codes are not kept)",
    run(ctx) {
      return call<{ id: string; uses: number; created: number; expires?: number }[]>(
        ctx,
        { method: "invites" },
        (list) =>
          list.length === 0 ? "No invitations" : [
            `${plural(list.length, "invitation")}:`,
            ...list.map((i) =>
              `  ${i.id}  ${plural(i.uses, "use")} left, created ${when(i.created)}, until ${
                i.expires ? when(i.expires) : "used up"
              }`
            ),
          ].join("\n"),
      );
    },
  },
  {
    name: "ban",
    usage: "ban <login|address[/bits]> [duration] [reason...]",
    summary:
      "Refuse a login (its sessions end) or an address range (at the handshake), for a while (1h, 7d) or until unban",
    run(ctx, args) {
      const [target, maybe, ...rest] = words(args);
      if (!target) {
        throw new ChatError(
          "bad_arguments",
          `Cannot ban: name a login or an address; usage: ${this.usage}`,
        );
      }
      const durationMs = maybe === undefined ? undefined : parseDuration(maybe);
      const reason = (durationMs === undefined ? [maybe, ...rest] : rest).filter(Boolean).join(" ");
      return call<{ ban: Ban; sessions: number; connections: number; until: string }>(
        ctx,
        { method: "ban", target, durationMs, reason },
        (b) =>
          `Banned ${
            b.ban.kind === "login" ? b.ban.target : `address range ${b.ban.target}`
          } ${b.until}${
            b.ban.kind === "login"
              ? `; ${plural(b.sessions, "session")} ended`
              : `; ${plural(b.connections, "open connection")} closed`
          }`,
      );
    },
  },
  {
    name: "unban",
    usage: "unban <login|address[/bits]>",
    summary: "Lift a ban",
    run(ctx, args) {
      const target = words(args)[0];
      if (!target) {
        throw new ChatError("bad_arguments", `Cannot unban: name a target; usage: ${this.usage}`);
      }
      return call<string>(ctx, { method: "unban", target }, () => `Lifted the ban on ${target}`);
    },
  },
  {
    name: "bans",
    usage: "bans",
    summary: "The bans in force",
    run(ctx) {
      return call<Ban[]>(
        ctx,
        { method: "bans" },
        (list) =>
          list.length === 0
            ? "No bans"
            : [`${plural(list.length, "ban")}:`, ...list.map(banLine)].join("\n"),
      );
    },
  },
];
