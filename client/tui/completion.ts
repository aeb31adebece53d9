// Tab completion for the input line: command names from the server's catalog, then each parameter
// by its kind (logins, groups, `public`), and a nick at the start of a line as `nick: `. Pure.

import type { CommandInfo, ParamSpec, Reply } from "../../protocol/mod.ts";
import { nameKey } from "../../protocol/mod.ts";
import { LOCAL_COMMANDS, resolveCommand, splitWord } from "../input.ts";

/** What completion can offer besides the catalog. */
export interface CompletionSource {
  catalog: readonly CommandInfo[];
  /** Logins: online users and people the user talked with, most recent first. */
  logins: readonly string[];
  /** Groups the user knows of. */
  groups: readonly string[];
  /** Commands the client itself adds (`window`, `query`, `close`), without the slash. */
  clientCommands: readonly string[];
}

/** A completion in progress: repeated Tab walks its candidates. */
export interface CompletionState {
  /** The line with the word being completed cut out: `head` + candidate + `tail`. */
  head: string;
  tail: string;
  candidates: string[];
  index: number;
}

/** The line and cursor after a Tab. */
export interface Completed {
  /** The text before the cursor. */
  before: string;
  /** The text after the cursor (unchanged). */
  after: string;
  state: CompletionState;
}

/**
 * Completes the word before the cursor. With `state` from the previous Tab (and no other key in
 * between) it moves to the next candidate (`step` 1) or the previous one (-1). Undefined when
 * nothing matches.
 */
export function complete(
  before: string,
  after: string,
  source: CompletionSource,
  state?: CompletionState,
  step: 1 | -1 = 1,
): Completed | undefined {
  if (state) {
    const n = state.candidates.length;
    const index = (state.index + step + n) % n;
    const next = { ...state, index };
    return { before: state.head + state.candidates[index], after, state: next };
  }
  const start = before.search(/\S*$/);
  const word = before.slice(start);
  const head = before.slice(0, start);
  const candidates = candidatesFor(head, word, source);
  if (candidates.length === 0) return undefined;
  const fresh: CompletionState = { head, tail: after, candidates, index: 0 };
  return { before: head + candidates[0], after, state: fresh };
}

/** The candidates for `word`, given the text before it on the line; each ends with its separator. */
export function candidatesFor(head: string, word: string, source: CompletionSource): string[] {
  const matching = (options: Iterable<string>, suffix: string) => {
    const lower = word.toLowerCase();
    const seen = new Set<string>();
    const out: string[] = [];
    for (const option of options) {
      const key = option.toLowerCase();
      if (!key.startsWith(lower) || seen.has(key)) continue;
      seen.add(key);
      out.push(option + suffix);
    }
    return out;
  };
  if (head.trim() === "") {
    if (word.startsWith("/")) return matching(commandWords(source).map((c) => `/${c}`), " ");
    // A nick at the start of a line addresses that person.
    return matching(source.logins, ": ");
  }
  if (!head.startsWith("/")) return matching(source.logins, " ");

  const [cmd, argsText] = splitWord(head.slice(1));
  const args = argsText.trim() === "" ? [] : argsText.trim().split(/\s+/);
  const sub = source.catalog.filter((c) => c.name.startsWith(`${cmd.toLowerCase()} `));
  if (args.length === 0 && sub.length > 0) {
    return matching(sub.map((c) => c.name.split(" ")[1]), " ");
  }
  const param = paramAt(cmd, args, source);
  if (param === undefined) return [];
  if (param.kind === "text") return matching(source.logins, " ");
  return matching(valuesOf(param, cmd, source), " ");
}

/** The grammar parameter the next word fills, for a command and the words already typed. */
function paramAt(cmd: string, args: string[], source: CompletionSource): ParamSpec | undefined {
  const name = cmd.toLowerCase();
  if (source.clientCommands.includes(name)) {
    if (name === "query") return args.length === 0 ? { name: "login", kind: "login" } : undefined;
    if (name === "help") return undefined;
    return undefined;
  }
  const resolved = resolveCommand(source.catalog, cmd, args.join(" "));
  if (!resolved) return undefined;
  const filled = resolved.rest === "" ? 0 : resolved.rest.split(/\s+/).length;
  const params = resolved.info.params;
  const textIndex = params.findIndex((p) => p.kind === "text");
  if (textIndex !== -1 && filled >= textIndex) return params[textIndex];
  return params[filled];
}

function valuesOf(param: ParamSpec, cmd: string, source: CompletionSource): string[] {
  switch (param.kind) {
    case "login":
      return [...source.logins];
    case "group":
      return [...source.groups];
    case "word":
      // A conversation target (as /history takes): the public room, a login or #group.
      return param.name === "target" || cmd.toLowerCase() === "history"
        ? ["public", ...source.logins, ...source.groups.map((g) => `#${g}`)]
        : [];
    default:
      return [];
  }
}

/** Every first word of a command: catalog names, aliases, the client's own commands. */
function commandWords(source: CompletionSource): string[] {
  const words = new Set<string>();
  for (const c of [...source.catalog, ...LOCAL_COMMANDS]) {
    words.add(c.name.split(" ")[0]);
    for (const alias of c.aliases) words.add(alias);
  }
  for (const c of source.clientCommands) words.add(c);
  return [...words].sort();
}

/** Puts logins first in a most-recent-first list, one entry per name; recent speakers complete first. */
export function rememberLogins(list: string[], ...logins: (string | undefined)[]): void {
  for (const login of logins) {
    if (login === undefined) continue;
    const index = list.findIndex((l) => nameKey(l) === nameKey(login));
    if (index !== -1) list.splice(index, 1);
    list.unshift(login);
  }
}

/** The logins a `/list` reply names as online (`data.users[].login`). */
export function onlineLogins(reply: Reply): string[] {
  if (!reply.ok) return [];
  const users = (reply.data as { users?: { login?: unknown }[] } | undefined)?.users;
  return Array.isArray(users)
    ? users.flatMap((u) => typeof u?.login === "string" ? [u.login] : [])
    : [];
}
