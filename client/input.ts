// Turns one line the user typed into what the client should do: send a command, quit or show help.
// Pure: the server parses each command's grammar; the client only needs the catalog for help and secrets.

import { splitWord } from "../protocol/words.ts";
import type { CommandInfo, ErrorCode, ParamSpec } from "../protocol/mod.ts";
import { replaceUnsafe } from "../terminal/sanitize.ts";

/** What one input line asks for. */
export type InputAction =
  | { kind: "none" }
  | { kind: "quit" }
  | { kind: "help"; text: string }
  | { kind: "error"; code: ErrorCode; message: string }
  | SendAction;

/** A command for the server: `cmd` is the word after the slash, `args` the rest of the line. */
export interface SendAction {
  kind: "send";
  cmd: string;
  args: string;
  /**
   * Secret parameters the line leaves out, as the labels to ask them by (a parameter's `prompt`,
   * else its name): ask for them without echo and append them to `args` (`appendSecrets`).
   */
  missingSecrets?: string[];
  /**
   * Indexes in `missingSecrets` that repeat the entry before them (a parameter with `confirm`, such
   * as a new password): `secretsDiffer` checks them, `appendSecrets` leaves them out.
   */
  repeats?: number[];
  /** Set when the command takes secret parameters: the line must not be kept in input history. */
  sensitive?: true;
}

/** A catalog command a line resolves to, and the arguments after its name. */
export interface ResolvedCommand {
  info: CommandInfo;
  /** The arguments without the subcommand word of a two-word command. */
  rest: string;
}

/** Commands the client handles itself; they shadow server commands of the same name. */
export const LOCAL_COMMANDS: readonly CommandInfo[] = [
  {
    name: "help",
    aliases: [],
    summary: "Show the commands, or the details of one",
    usage: "/help [command]",
    params: [{ name: "command", kind: "text", optional: true }],
    examples: ["/help", "/help msg", "/help group"],
    plugin: "client",
  },
  {
    name: "quit",
    aliases: ["exit"],
    summary: "Log out and leave",
    usage: "/quit",
    params: [],
    examples: [],
    plugin: "client",
  },
];

/**
 * Parses one input line against the server's command catalog.
 *
 * @example
 * ```ts
 * import { parseInput } from "./input.ts";
 * parseInput("hello", []); // { kind: "send", cmd: "say", args: "hello" }
 * parseInput("/msg bob hi", []); // { kind: "send", cmd: "msg", args: "bob hi" }
 * ```
 */
export function parseInput(line: string, catalog: readonly CommandInfo[]): InputAction {
  if (line.trim() === "") return { kind: "none" };
  if (!line.startsWith("/")) return { kind: "send", cmd: "say", args: line };
  if (line.startsWith("//")) return { kind: "send", cmd: "say", args: line.slice(1) };

  const [word, rest] = splitWord(line.slice(1));
  if (word === "" || line[1] !== word[0]) {
    return {
      kind: "error",
      code: "unknown_command",
      message: `Cannot run "${line.trim()}": no command name after the slash`,
    };
  }
  const name = word.toLowerCase();
  if (name === "quit" || name === "exit") return { kind: "quit" };
  if (name === "help") return helpAction(rest, catalog);

  const args = rest.trim();
  const action: SendAction = { kind: "send", cmd: word, args };
  const resolved = resolveCommand(catalog, word, args);
  if (resolved && resolved.info.params.some((p) => p.kind === "secret")) {
    action.sensitive = true;
    const missing = missingSecrets(resolved.info.params, resolved.rest);
    if (missing.length > 0) {
      action.missingSecrets = [];
      for (const param of missing) {
        const label = param.prompt ?? param.name;
        action.missingSecrets.push(label);
        if (param.confirm) {
          (action.repeats ??= []).push(action.missingSecrets.length);
          action.missingSecrets.push(`${label} again`);
        }
      }
    }
  }
  return action;
}

/**
 * Finds the catalog command a command word and its arguments name: a two-word command such as
 * `group join` first, then a one-word name, then an alias. Case does not matter.
 */
export function resolveCommand(
  catalog: readonly CommandInfo[],
  cmd: string,
  args: string,
): ResolvedCommand | undefined {
  const word = cmd.toLowerCase();
  const [sub, afterSub] = splitWord(args);
  if (sub !== "") {
    const twoWords = `${word} ${sub.toLowerCase()}`;
    const info = catalog.find((c) => c.name === twoWords);
    if (info) return { info, rest: afterSub };
  }
  const info = catalog.find((c) => c.name === word) ??
    catalog.find((c) => c.aliases.includes(word));
  return info ? { info, rest: args.trim() } : undefined;
}

/** Appends secrets the user typed at a hidden prompt to a command's arguments (repeats left out). */
export function appendSecrets(action: SendAction, secrets: readonly string[]): SendAction {
  const kept = secrets.filter((_, i) => !action.repeats?.includes(i));
  const args = [action.args, ...kept].filter((part) => part !== "").join(" ");
  return { kind: "send", cmd: action.cmd, args, sensitive: true };
}

/** The error to show when a repeated secret (a new password typed twice) differs; else undefined. */
export function secretsDiffer(action: SendAction, secrets: readonly string[]): string | undefined {
  for (const i of action.repeats ?? []) {
    if (secrets[i] !== undefined && secrets[i] !== secrets[i - 1]) {
      return `Cannot use the ${action.missingSecrets?.[i - 1] ?? "secret"}: the two entries differ`;
    }
  }
  return undefined;
}

/**
 * The `/help` listing: every command with its grammar and summary, the client's own included.
 *
 * @example
 * ```ts
 * import { formatHelp } from "./input.ts";
 * console.log(formatHelp([]));
 * ```
 */
export function formatHelp(catalog: readonly CommandInfo[]): string {
  return [
    "Commands (/help COMMAND for details):",
    ...commandTable(withLocalCommands(catalog.map(printableInfo))),
    "Other lines go to the public room; begin a line with // to send text that starts with /.",
  ].join("\n");
}

/**
 * The `/help COMMAND` text: grammar, summary, aliases and examples.
 *
 * @example
 * ```ts
 * import { formatCommandHelp, LOCAL_COMMANDS } from "./input.ts";
 * console.log(formatCommandHelp(LOCAL_COMMANDS[0]));
 * ```
 */
export function formatCommandHelp(command: CommandInfo): string {
  const info = printableInfo(command);
  const lines = [usageOf(info), `  ${info.summary}`];
  if (info.aliases.length > 0) {
    lines.push(`  Aliases: ${info.aliases.map((a) => `/${a}`).join(", ")}`);
  }
  const secrets = info.params.filter((p) => p.kind === "secret").map((p) => `<${p.name}>`);
  if (secrets.length > 0) {
    lines.push(`  Left-out secrets (${secrets.join(", ")}) are asked for without echo`);
  }
  if (info.examples.length > 0) {
    lines.push("  Examples:", ...info.examples.map((e) => `    ${e}`));
  }
  return lines.join("\n");
}

function helpAction(topicText: string, catalog: readonly CommandInfo[]): InputAction {
  const topic = topicText.trim().replace(/^\//, "").replace(/\s+/g, " ").toLowerCase();
  if (topic === "") return { kind: "help", text: formatHelp(catalog) };

  const commands = withLocalCommands(catalog);
  const exact = commands.find((c) => c.name === topic) ??
    (topic.includes(" ") ? undefined : commands.find((c) => c.aliases.includes(topic)));
  const subcommands = commands.filter((c) => c.name.startsWith(`${topic} `));
  const parts: string[] = [];
  if (exact) parts.push(formatCommandHelp(exact));
  if (subcommands.length > 0) {
    parts.push(
      [`Commands under /${topic} (/help COMMAND for details):`, ...commandTable(subcommands)]
        .join("\n"),
    );
  }
  if (parts.length === 0) {
    return {
      kind: "error",
      code: "unknown_command",
      message: `Cannot show help for "${topicText.trim()}": no such command`,
    };
  }
  return { kind: "help", text: parts.join("\n\n") };
}

/** Longest grammar column in the help table; longer grammars push their summary right. */
const USAGE_COLUMN = 28;

function commandTable(commands: readonly CommandInfo[]): string[] {
  const sorted = [...commands].sort((a, b) => a.name.localeCompare(b.name));
  const width = Math.min(USAGE_COLUMN, Math.max(0, ...sorted.map((c) => usageOf(c).length)));
  return sorted.map((c) => {
    const aliases = c.aliases.length > 0
      ? ` (also ${c.aliases.map((a) => `/${a}`).join(", ")})`
      : "";
    return `  ${usageOf(c).padEnd(width)}  ${c.summary}${aliases}`;
  });
}

/**
 * A catalog entry with every text the server wrote made safe for a terminal (terminal/sanitize.ts):
 * a rogue server's catalog must not steer the user's terminal (window titles, clipboard writes).
 */
function printableInfo(info: CommandInfo): CommandInfo {
  const safe = (text: string) => replaceUnsafe(text, "\uFFFD");
  return {
    ...info,
    name: safe(info.name),
    summary: safe(info.summary),
    usage: safe(info.usage),
    aliases: info.aliases.map(safe),
    examples: info.examples.map(safe),
    params: info.params.map((p) => ({ ...p, name: safe(p.name) })),
  };
}

function usageOf(info: CommandInfo): string {
  if (info.usage.trim() !== "") return info.usage.trim();
  const params = info.params.map((p) => p.optional ? `[${p.name}]` : `<${p.name}>`);
  return [`/${info.name}`, ...params].join(" ");
}

function withLocalCommands(catalog: readonly CommandInfo[]): CommandInfo[] {
  const local = new Set(LOCAL_COMMANDS.flatMap((c) => [c.name, ...c.aliases]));
  return [...catalog.filter((c) => !local.has(c.name)), ...LOCAL_COMMANDS];
}

/**
 * The required secrets a line leaves out, in grammar order. Parameters fill by position, so the
 * answer includes optional secrets before the last required one; it is empty when a non-secret
 * parameter is missing too, since appended secrets would then land in the wrong place.
 */
function missingSecrets(params: readonly ParamSpec[], args: string): ParamSpec[] {
  let remaining = args.trim();
  let filled = 0;
  for (const param of params) {
    if (remaining === "") break;
    filled++;
    if (param.kind === "text") {
      remaining = "";
      break;
    }
    remaining = splitWord(remaining)[1];
  }
  const unfilled = params.slice(filled);
  const lastRequired = unfilled.findLastIndex((p) => !p.optional);
  const needed = unfilled.slice(0, lastRequired + 1);
  if (needed.some((p) => p.kind !== "secret")) return [];
  return needed;
}

/** Re-exported for the terminal clients: the one splitter is protocol/words.ts. */
export { splitWord };
