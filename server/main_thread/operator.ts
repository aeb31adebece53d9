// The operator's commands: one table, run the same way from the console and from `chatz admin`.
// Each declares its grammar and whether it asks for confirmation; the server work goes to the serving thread.

import {
  fileErrorReason,
  isValidName,
  MAX_TEXT_LENGTH,
  NAME_RULE,
  plural,
} from "../../protocol/mod.ts";
import { ChatError } from "../errors.ts";
import { isLogLevel, LOG_LEVELS } from "../log.ts";
import { describeEncryption } from "./encryption.ts";
import { ACCOUNT_COMMANDS } from "./operator_accounts.ts";
import type { ServerStatus, SessionView } from "../serving/serve.ts";
import type { OperatorCommand, OperatorContext, OperatorResult } from "./operator_command.ts";

/** Lines `logs` shows when no count is given. */
const DEFAULT_LOG_LINES = 50;
/** Most lines `logs` shows at once. */
const MAX_LOG_LINES = 10_000;

/** Every operator command, in help order. */
export const OPERATOR_COMMANDS: readonly OperatorCommand[] = [
  {
    name: "help",
    usage: "help [command]",
    summary: "List the commands, or show one",
    run(_ctx, args) {
      const name = args.trim();
      if (name) {
        const command = findOperatorCommand(name);
        if (!command) {
          throw new ChatError("unknown_command", `Cannot show help for "${name}": no such command`);
        }
        const aliases = command.aliases ? ` (also: ${command.aliases.join(", ")})` : "";
        return Promise.resolve({ text: `${command.usage}${aliases}\n  ${command.summary}` });
      }
      const width = Math.max(...OPERATOR_COMMANDS.map((c) => c.usage.length));
      const lines = OPERATOR_COMMANDS.map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`);
      return Promise.resolve({ text: ["Commands:", ...lines].join("\n") });
    },
  },
  {
    name: "status",
    usage: "status",
    summary: "Uptime, endpoint, listening or paused, users, groups, message rate, memory",
    async run(ctx) {
      const s = await ctx.server.call<ServerStatus>({ method: "status" });
      const listening = s.listening
        ? "listening"
        : `PAUSED: new connections are refused (${s.refusedWhilePaused} so far)`;
      const text = [
        `chatz ${ctx.version}, up ${duration(s.uptimeMs)}`,
        `endpoint  ${s.endpoint} (${listening})`,
        `security  ${describeEncryption(ctx.encryption)}`,
        `users     ${s.usersOnline} online in ${plural(s.sessions, "session")}; ${
          plural(s.accounts, "account")
        }`,
        `groups    ${s.groups}`,
        `messages  ${s.messagesRelayed} relayed since start, ${
          s.messagesPerSecond.toFixed(1)
        }/s over the last minute; ` +
        `${
          plural(s.deliveries, "event")
        } queued to sessions since start; last message id ${s.messagesStored}`,
        `memory    rss ${mib(s.memoryRss)}, serving heap ${mib(s.heapUsed)}`,
        ...(s.cluster ? [describeCluster(s.cluster)] : []),
      ].join("\n");
      return { text, data: { ...s, encryption: ctx.encryption } };
    },
  },
  {
    name: "users",
    aliases: ["who"],
    usage: "users",
    summary: "Who is online, since when and from which host (as the client reports it)",
    async run(ctx) {
      const users = await ctx.server.call<SessionView[]>({ method: "users" });
      if (users.length === 0) return { text: "No one is online", data: users };
      const lines = users.map((u) =>
        `  ${u.login.padEnd(20)} since ${clock(u.since)}  ` +
        (u.node === undefined
          ? `on ${u.host || "?"}  (${u.client || "?"})`
          : `on node ${u.node}  (${plural(u.sessions ?? 1, "session")})`)
      );
      const count = users.reduce((n, u) => n + (u.sessions ?? 1), 0);
      return { text: [`${plural(count, "session")}:`, ...lines].join("\n"), data: users };
    },
  },
  {
    name: "groups",
    usage: "groups",
    summary: "Which groups exist, with owner and member count",
    async run(ctx) {
      const groups = await ctx.server.call<{ name: string; owner: string; members: number }[]>({
        method: "groups",
      });
      if (groups.length === 0) return { text: "No groups", data: groups };
      const lines = groups.map((g) =>
        `  ${g.name.padEnd(32)} ${plural(g.members, "member").padStart(13)}  owner ${g.owner}`
      );
      return { text: [`${plural(groups.length, "group")}:`, ...lines].join("\n"), data: groups };
    },
  },
  {
    name: "pause",
    usage: "pause [--all]",
    summary:
      "Stop admitting new connections; sessions already connected go on (--all: every node of a cluster)",
    run: admission(
      "pause",
      "Paused: new connections are refused (chatz clients re-dial, backing off to 8 s); connected sessions go on",
      "Already paused",
    ),
  },
  {
    name: "resume",
    usage: "resume [--all]",
    summary: "Admit new connections again (--all: on every node of a cluster)",
    run: admission(
      "resume",
      "Listening again: waiting clients get in on their next retry",
      "Already listening",
    ),
  },
  {
    name: "logs",
    usage: "logs [count] [level]",
    summary:
      `The last lines of the server log (default ${DEFAULT_LOG_LINES}), optionally only a level and worse`,
    run(ctx, args) {
      let count: number | undefined;
      let level: (typeof LOG_LEVELS)[number] | undefined;
      const twice = (what: string) =>
        new ChatError("bad_arguments", `Cannot show logs: give at most one ${what}`);
      for (const word of args.split(/\s+/).filter(Boolean)) {
        if (/^\d+$/.test(word) && Number(word) >= 1 && Number(word) <= MAX_LOG_LINES) {
          if (count !== undefined) throw twice("count");
          count = Number(word);
        } else if (isLogLevel(word.toLowerCase())) {
          if (level !== undefined) throw twice("level");
          level = word.toLowerCase() as (typeof LOG_LEVELS)[number];
        } else {
          throw new ChatError(
            "bad_arguments",
            `Cannot show logs: "${
              word.slice(0, 20)
            }" is neither a count from 1 to ${MAX_LOG_LINES} nor a level (${
              LOG_LEVELS.join(", ")
            })`,
          );
        }
      }
      const lines = ctx.logs.tail(count ?? DEFAULT_LOG_LINES, level ?? "debug");
      const none = level === undefined || level === "debug"
        ? "The log is empty"
        : `No log lines at level ${level} or worse`;
      return Promise.resolve({ text: lines.length ? lines.join("\n") : none, data: lines });
    },
  },
  {
    name: "clear-logs",
    usage: "clear-logs",
    summary: "Empty the server log (rotated files stay); the clearing itself is logged",
    confirm: "Empty the server log?",
    run(ctx) {
      ctx.logs.clear();
      ctx.log.warn("log_cleared", { by: "operator" });
      return Promise.resolve({ text: "Log cleared" });
    },
  },
  {
    name: "clear-identities",
    aliases: ["clear-users"],
    usage: "clear-identities",
    summary: "Delete every account, group and membership; online users are told and logged out",
    confirm: "Delete every account? Online users are logged out and must register again.",
    async run(ctx) {
      const removed = await ctx.server.call<number>({ method: "clearIdentities" });
      return {
        text: `Deleted ${plural(removed, "account")}; everyone must register again`,
        data: { accounts: removed },
      };
    },
  },
  {
    name: "kick",
    usage: "kick <login> [reason...]",
    summary: "End every session of a login, telling them why",
    async run(ctx, args) {
      const [login, ...rest] = args.trim().split(/\s+/);
      if (!login) {
        throw new ChatError(
          "bad_arguments",
          "Cannot kick: name a login; usage: kick <login> [reason...]",
        );
      }
      if (!isValidName(login)) {
        throw new ChatError(
          "invalid_name",
          `Cannot kick "${login.slice(0, 40)}": logins are ${NAME_RULE}`,
        );
      }
      const sessions = await ctx.server.call<number>({
        method: "kick",
        login,
        reason: rest.join(" "),
      });
      if (sessions === 0) throw new ChatError("user_offline", `Cannot kick "${login}": not online`);
      return { text: `Kicked ${login} (${plural(sessions, "session")})`, data: { sessions } };
    },
  },
  {
    name: "broadcast",
    usage: "broadcast <text...>",
    summary: "Send a server notice to everyone online",
    async run(ctx, args) {
      const text = args.trim();
      if (!text) {
        throw new ChatError(
          "bad_arguments",
          "Cannot broadcast: the text is empty; usage: broadcast <text...>",
        );
      }
      if (text.length > MAX_TEXT_LENGTH) {
        throw new ChatError(
          "too_large",
          `Cannot broadcast: text over ${MAX_TEXT_LENGTH} characters`,
        );
      }
      await ctx.server.call({ method: "broadcast", text });
      return { text: "Notice sent" };
    },
  },
  ...ACCOUNT_COMMANDS,
  {
    name: "shutdown",
    aliases: ["quit"],
    usage: "shutdown [reason...]",
    summary: "Stop gracefully: clients are told, queued writes finish, the store closes",
    run(ctx, args) {
      ctx.shutdown(args.trim());
      return Promise.resolve({ text: "Shutting down" });
    },
  },
];

/** Finds a command by name or alias. */
export function findOperatorCommand(name: string): OperatorCommand | undefined {
  const word = name.toLowerCase().trim().replace(/\s+/g, " ");
  return OPERATOR_COMMANDS.find((c) => c.name === word || c.aliases?.includes(word));
}

/** Splits a line into its command (one word, or two as in `user add`) and the arguments. */
export function splitOperatorLine(
  line: string,
): { command?: OperatorCommand; name: string; args: string } {
  const words = line.trim().split(/\s+/);
  for (const n of [2, 1]) {
    const command = words.length >= n
      ? findOperatorCommand(words.slice(0, n).join(" "))
      : undefined;
    if (command) return { command, name: command.name, args: words.slice(n).join(" ") };
  }
  return { name: words[0] ?? "", args: words.slice(1).join(" ") };
}

/** Takes `--password-file FILE` out of the arguments; returns the rest and the file, if any. */
export function passwordFileArg(args: string): { rest: string; file?: string } {
  const words = args.trim().split(/\s+/).filter(Boolean);
  const at = words.indexOf("--password-file");
  if (at < 0) return { rest: words.join(" ") };
  const file = words[at + 1];
  if (!file) {
    throw new ChatError("bad_arguments", "Cannot read the password: --password-file needs a file");
  }
  words.splice(at, 2);
  return { rest: words.join(" "), file };
}

/**
 * Runs one operator line. `confirm` is asked when the command wants confirmation;
 * failures throw a ChatError with a code.
 */
export async function runOperatorLine(
  ctx: OperatorContext,
  line: string,
  options: {
    source: "console" | "admin";
    confirm: (question: string) => Promise<boolean>;
    /** Asks for a password without echo (the console), or gives the one sent along (`chatz admin`). */
    secret?: (label: string) => Promise<string | undefined>;
  },
): Promise<OperatorResult> {
  const { command, name, args: given } = splitOperatorLine(line);
  let args = given;
  if (!command) {
    throw new ChatError(
      "unknown_command",
      `Cannot run "${name.slice(0, 32)}": no such command; "help" lists them`,
    );
  }
  if (command.confirm && !(await options.confirm(command.confirm))) {
    // The person at the console said no: nothing failed. A script (`chatz admin`) gets the code.
    if (options.source === "console") return { text: "Cancelled" };
    throw new ChatError("not_confirmed", `Cannot run "${command.name}": not confirmed`);
  }
  // Operator actions are logged by name only: broadcast texts and kick reasons stay out of the log.
  if (!["help", "status", "users", "groups", "logs"].includes(command.name)) {
    ctx.log.info("operator_command", { command: command.name, source: options.source });
  }
  let secret: string | undefined;
  if (command.secret) {
    const { rest, file } = passwordFileArg(args);
    args = rest;
    secret = file === undefined ? await options.secret?.(command.secret) : readFirstLine(file);
    if (!secret) {
      throw new ChatError(
        "bad_password",
        `Cannot run "${command.name}": no password given (type it when asked, pipe it to chatz admin, or use --password-file FILE)`,
      );
    }
  }
  return await command.run(ctx, args, secret);
}

/** The first line of a password file, or a `bad_password` error naming the file. */
export function readFirstLine(path: string): string {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    throw new ChatError(
      "bad_password",
      `Cannot read password file "${path}": ${fileErrorReason(error)}`,
    );
  }
  return text.split(/\r?\n/, 1)[0];
}

function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const hms = [Math.floor(s / 3600) % 24, Math.floor(s / 60) % 60, s % 60].map((n) =>
    String(n).padStart(2, "0")
  );
  return `${d > 0 ? `${d}d ` : ""}${hms.join(":")}`;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function clock(ts: number): string {
  return new Date(ts).toISOString().replace("T", " ").slice(0, 19) + "Z";
}

/** The cluster line of `status`: this node and the others it hears, with their online accounts. */
function describeCluster(cluster: NonNullable<ServerStatus["cluster"]>): string {
  const others = cluster.nodes.map((n) => `${n.node} (${n.accounts} online)`);
  return `cluster   node ${cluster.node}; ${plural(others.length, "other node")} heard${
    others.length > 0 ? `: ${others.join(", ")}` : ""
  }`;
}

/** What `pause` and `resume` answer: whether this node changed, and how many others were asked. */
interface PauseResult {
  changed: boolean;
  others: number;
}

/** `pause` and `resume`: one node, or with --all every node of a cluster. */
function admission(
  method: "pause" | "resume",
  changedText: string,
  unchangedText: string,
): OperatorCommand["run"] {
  return async (ctx, args) => {
    const { changed, others } = await ctx.server.call<PauseResult>({
      method,
      all: allNodes(method, args),
    });
    const text = changed ? changedText : unchangedText;
    return { text: text + otherNodes(others, method), data: { changed, others } };
  };
}

/** Whether `pause`/`resume` was given `--all`; anything else is a clear error. */
function allNodes(command: string, args: string): boolean {
  const words = args.split(/\s+/).filter(Boolean);
  if (words.length === 0) return false;
  if (words.length === 1 && words[0] === "--all") return true;
  throw new ChatError(
    "bad_arguments",
    `Cannot ${command}: "${words[0].slice(0, 20)}" is not an option; usage: ${command} [--all]`,
  );
}

/** The tail of `pause --all`'s answer: the other nodes asked to do the same. */
function otherNodes(others: number, command: string): string {
  return others > 0 ? `; asked ${plural(others, "other node")} to ${command} too` : "";
}
