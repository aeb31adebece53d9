// The command table: every command a plugin registers, its grammar, and central checks before dispatch.
// Login, arity and parameter kinds are validated here once, so handlers only see well-formed arguments.

import { splitWord, trimArgs } from "../../protocol/words.ts";
import {
  type CommandInfo,
  isErrorCode,
  isValidName,
  MAX_PASSWORD_LENGTH,
  MAX_TEXT_LENGTH,
  NAME_RULE,
  type ParamSpec,
} from "../../protocol/mod.ts";
import type {
  Caller,
  ChatServices,
  CommandArgs,
  CommandCall,
  CommandResult,
  CommandSpec,
} from "../../protocol/plugin.ts";
import { ChatError } from "../errors.ts";
import { encodeReply } from "./reply.ts";

/** Longest `word` argument. */
const MAX_WORD_LENGTH = 200;

const COMMAND_WORD = /^[a-z][a-z0-9-]{0,31}$/;

/** A command in the table, with the plugin that owns it. */
export interface RegisteredCommand {
  readonly spec: CommandSpec;
  readonly plugin: string;
  readonly info: CommandInfo;
}

/** Reports a handler that threw something other than a ChatError. */
export type PluginFailure = (plugin: string, command: string, error: unknown) => void;

/** Every registered command, by name, alias and subcommand prefix. */
export class Registry {
  readonly #commands = new Map<string, RegisteredCommand>();
  readonly #aliases = new Map<string, string>();
  readonly #prefixes = new Map<string, number>();
  #catalog: CommandInfo[] | undefined;
  #catalogJson: string | undefined;

  /** Adds a command; throws when its declaration is malformed or a name it claims is taken. */
  register(plugin: string, spec: CommandSpec): void {
    const name = spec.name;
    const words = name.split(" ");
    if (words.length > 2 || !words.every((w) => COMMAND_WORD.test(w))) {
      throw new Error(`Cannot register command "${name}": a name is one or two lowercase words`);
    }
    if (typeof spec.handler !== "function") {
      throw new Error(`Cannot register command "${name}": handler is not a function`);
    }
    if (typeof spec.summary !== "string" || spec.summary.length === 0) {
      throw new Error(`Cannot register command "${name}": summary is missing`);
    }
    checkParams(name, spec.params ?? []);
    const taken = (word: string) => this.#owner(word);
    const clash = taken(name) ?? (words.length === 2 ? this.#commandOwner(words[0]) : undefined) ??
      (words.length === 1 && this.#prefixes.has(name) ? "a subcommand group" : undefined);
    if (clash) {
      throw new Error(`Cannot register command "${name}": the name is taken by ${clash}`);
    }
    for (const alias of spec.aliases ?? []) {
      if (!COMMAND_WORD.test(alias)) {
        throw new Error(
          `Cannot register command "${name}": alias "${alias}" is not one lowercase word`,
        );
      }
      const owner = taken(alias) ?? (this.#prefixes.has(alias) ? "a subcommand group" : undefined);
      if (owner) {
        throw new Error(`Cannot register command "${name}": alias "${alias}" is taken by ${owner}`);
      }
    }
    const info: CommandInfo = {
      name,
      aliases: [...(spec.aliases ?? [])],
      summary: spec.summary,
      usage: usageOf(name, spec.params ?? []),
      params: (spec.params ?? []).map((p) => ({ ...p })),
      examples: [...(spec.examples ?? [])],
      plugin,
    };
    this.#commands.set(name, { spec, plugin, info });
    for (const alias of info.aliases) this.#aliases.set(alias, name);
    if (words.length === 2) this.#prefixes.set(words[0], (this.#prefixes.get(words[0]) ?? 0) + 1);
    this.#catalog = this.#catalogJson = undefined;
  }

  /** Removes every command of a plugin, for a plugin whose setup failed half way. */
  unregisterPlugin(plugin: string): void {
    for (const [name, command] of this.#commands) {
      if (command.plugin !== plugin) continue;
      this.#commands.delete(name);
      for (const alias of command.info.aliases) this.#aliases.delete(alias);
      const words = name.split(" ");
      if (words.length === 2) {
        const left = (this.#prefixes.get(words[0]) ?? 1) - 1;
        if (left === 0) this.#prefixes.delete(words[0]);
        else this.#prefixes.set(words[0], left);
      }
    }
    this.#catalog = this.#catalogJson = undefined;
  }

  /** Every command, sorted by name: what clients get at login. */
  catalog(): CommandInfo[] {
    this.#catalog ??= [...this.#commands.values()].map((c) => c.info).sort((a, b) =>
      a.name.localeCompare(b.name)
    );
    return this.#catalog;
  }

  /** The catalog as JSON, encoded once for every login until a plugin changes it. */
  catalogJson(): string {
    this.#catalogJson ??= JSON.stringify(this.catalog());
    return this.#catalogJson;
  }

  /** Finds the command a request names; two-word commands take their second word from `args`. */
  resolve(cmd: string, args: string): { command: RegisteredCommand; rest: string } {
    const word = cmd.toLowerCase();
    const direct = this.#commands.get(this.#aliases.get(word) ?? word);
    if (direct) return { command: direct, rest: args };
    if (this.#prefixes.has(word)) {
      const [sub, rest] = splitWord(args);
      const subs = this.#subcommandsOf(word);
      if (!sub) {
        throw new ChatError("unknown_command", `Cannot run "/${word}": name a subcommand: ${subs}`);
      }
      const command = this.#commands.get(`${word} ${sub.toLowerCase()}`);
      if (!command) {
        throw new ChatError(
          "unknown_command",
          `Cannot run "/${word} ${sub.slice(0, 32)}": no such subcommand; try ${subs}`,
        );
      }
      return { command, rest };
    }
    throw new ChatError(
      "unknown_command",
      `Cannot run "/${cmd.slice(0, 32)}": unknown command; /help lists them`,
    );
  }

  /**
   * Resolves, checks and runs a command. Returns the handler's result, synchronously when the handler
   * is synchronous; every failure becomes an error result with a code.
   */
  dispatch(
    caller: Caller | undefined,
    request: CommandRequest,
    options: DispatchOptions,
  ): CommandResult | Promise<CommandResult> {
    return this.#run(caller, request, options, (_command, result) => result);
  }

  /**
   * Runs a command as `dispatch` does and encodes its reply to request `id`. The encoding happens
   * here, inside the same guard: a result that cannot be encoded (a BigInt, a cycle, a throwing
   * `toJSON`) is `plugin_failed` and reported, whether the handler was synchronous or not. The
   * promise, when there is one, never rejects.
   */
  reply(
    id: number,
    caller: Caller | undefined,
    request: CommandRequest,
    options: DispatchOptions,
  ): string | Promise<string> {
    return this.#run(caller, request, options, (command, result) => {
      if (!command) return encodeReply(id, result);
      try {
        return encodeReply(id, result);
      } catch (error) {
        return encodeReply(id, pluginFailed(command, error, options.onPluginFailure));
      }
    });
  }

  #run<T>(
    caller: Caller | undefined,
    request: CommandRequest,
    options: DispatchOptions,
    finish: (command: RegisteredCommand | undefined, result: CommandResult) => T,
  ): T | Promise<T> {
    if (!caller) {
      return finish(undefined, fail("not_logged_in", "Cannot run a command: log in first"));
    }
    let command: RegisteredCommand;
    let args: CommandArgs;
    try {
      const resolved = this.resolve(request.cmd, request.args);
      command = resolved.command;
      args = parseArgs(command.info, resolved.rest);
    } catch (error) {
      if (error instanceof ChatError) return finish(undefined, fail(error.code, error.message));
      throw error;
    }
    const call: CommandCall = {
      caller,
      args,
      chat: options.services(caller, request.cid),
      ok,
      fail,
    };
    const failed = (error: unknown) => settle(command, error, options.onPluginFailure);
    try {
      const result = command.spec.handler(call);
      if (result instanceof Promise) {
        // The catch also takes checkResult's and finish's throws: a second argument to then() would not.
        return withDeadline(result, options.timeoutMs ?? DEFAULT_HANDLER_TIMEOUT_MS, command)
          .then((r) => finish(command, checkResult(command, r)))
          .catch((error) => finish(command, failed(error)));
      }
      return finish(command, checkResult(command, result));
    } catch (error) {
      return finish(command, failed(error));
    }
  }

  #owner(word: string): string | undefined {
    const command = this.#commands.get(this.#aliases.get(word) ?? word);
    return command ? `plugin "${command.plugin}" ("/${command.info.name}")` : undefined;
  }

  #commandOwner(word: string): string | undefined {
    const command = this.#commands.get(word) ?? this.#commands.get(this.#aliases.get(word) ?? "");
    return command ? `plugin "${command.plugin}" ("/${command.info.name}")` : undefined;
  }

  #subcommandsOf(prefix: string): string {
    return [...this.#commands.keys()]
      .filter((name) => name.startsWith(prefix + " "))
      .map((name) => name.slice(prefix.length + 1))
      .sort()
      .join(", ");
  }
}

/**
 * How long an async handler may take by default before its caller is answered `plugin_failed`: far
 * longer than any built-in command (a password check takes ~50 ms), short enough that a person
 * still waits for the answer.
 */
export const DEFAULT_HANDLER_TIMEOUT_MS = 10_000;

/** A command as a request names it. */
export interface CommandRequest {
  cmd: string;
  args: string;
  /** The client's id for what the command sends: re-sends are answered once. */
  cid?: string;
}

/** What dispatch needs besides the command table. */
export interface DispatchOptions {
  /** Services bound to the caller, for one call. */
  services: (caller: Caller, cid?: string) => ChatServices;
  onPluginFailure: PluginFailure;
  /** An async handler not settled after this long answers `plugin_failed` (default 10 s). */
  timeoutMs?: number;
}

/** The handler's promise, or a rejection once `ms` pass without it settling. */
function withDeadline<T>(promise: Promise<T>, ms: number, command: RegisteredCommand): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`handler of "/${command.info.name}" did not settle within ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** A handler's result as it is, or a throw naming what is wrong with it. */
function checkResult(command: RegisteredCommand, result: unknown): CommandResult {
  const problem = resultProblem(result);
  if (problem === undefined) return result as CommandResult;
  throw new Error(`handler of "/${command.info.name}" returned ${problem}`);
}

/** What makes a value not a result, or undefined for a well-formed one. */
function resultProblem(result: unknown): string | undefined {
  if (typeof result !== "object" || result === null || !("ok" in result)) return "no result";
  if (result.ok === true) {
    const text = (result as { text?: unknown }).text;
    return text === undefined || typeof text === "string" ? undefined : "a text that is no string";
  }
  if (result.ok !== false) return "an `ok` that is not true or false";
  const { code, message } = result as { code?: unknown; message?: unknown };
  if (typeof code !== "string" || !isErrorCode(code)) return `an unknown error code`;
  return typeof message === "string" ? undefined : "an error message that is no string";
}

/** What a handler's throw becomes: its own error result, or `plugin_failed` reported to the server. */
function settle(
  command: RegisteredCommand,
  error: unknown,
  onPluginFailure: PluginFailure,
): CommandResult {
  if (error instanceof ChatError) return fail(error.code, error.message);
  return pluginFailed(command, error, onPluginFailure);
}

/** Reports a plugin's failure and makes the caller's `plugin_failed` result. */
function pluginFailed(
  command: RegisteredCommand,
  error: unknown,
  onPluginFailure: PluginFailure,
): CommandResult {
  onPluginFailure(command.plugin, command.info.name, error);
  return fail(
    "plugin_failed",
    `Cannot run "/${command.info.name}": plugin "${command.plugin}" failed; the server logged why`,
  );
}

/** A successful result. */
export function ok(text?: string, data?: unknown): CommandResult {
  return { ok: true, text, data };
}

/** An error result. */
export function fail(code: ChatError["code"], message: string): CommandResult {
  return { ok: false, code, message };
}

/** Parses a command's argument string by its grammar; throws a ChatError naming what is wrong. */
export function parseArgs(info: CommandInfo, line: string): CommandArgs {
  const args: Record<string, string | number> = {};
  let rest = trimArgs(line);
  for (const param of info.params) {
    let token: string;
    if (param.kind === "text") {
      token = rest;
      rest = "";
    } else {
      [token, rest] = splitWord(rest);
    }
    if (!token) {
      if (param.optional) continue;
      throw new ChatError(
        "bad_arguments",
        `Cannot run "/${info.name}": missing <${param.name}>; usage: ${info.usage}`,
      );
    }
    args[param.name] = checkValue(info, param, token);
  }
  if (rest) {
    throw new ChatError(
      "bad_arguments",
      `Cannot run "/${info.name}": too many arguments; usage: ${info.usage}`,
    );
  }
  return args;
}

function checkValue(info: CommandInfo, param: ParamSpec, token: string): string | number {
  const where = `Cannot run "/${info.name}"`;
  switch (param.kind) {
    case "group":
      // Groups are shown as `#ops` everywhere: typed that way, the `#` is not part of the name.
      if (token.startsWith("#")) token = token.slice(1);
      /* falls through */
    case "login":
      if (!isValidName(token)) {
        throw new ChatError(
          "invalid_name",
          `${where}: "${token.slice(0, 40)}" is not a valid ${param.kind} name (${NAME_RULE})`,
        );
      }
      return token;
    case "int": {
      const value = /^-?\d{1,15}$/.test(token) ? Number(token) : NaN;
      if (
        Number.isNaN(value) || (param.min !== undefined && value < param.min) ||
        (param.max !== undefined && value > param.max)
      ) {
        const range = param.min !== undefined && param.max !== undefined
          ? ` from ${param.min} to ${param.max}`
          : "";
        throw new ChatError(
          "bad_arguments",
          `${where}: <${param.name}> must be a whole number${range}, got "${token.slice(0, 20)}"`,
        );
      }
      return value;
    }
    case "text":
      if (token.length > MAX_TEXT_LENGTH) {
        throw new ChatError("too_large", `${where}: text over ${MAX_TEXT_LENGTH} characters`);
      }
      return token;
    case "secret":
      if (token.length > MAX_PASSWORD_LENGTH) {
        throw new ChatError(
          "too_large",
          `${where}: <${param.name}> over ${MAX_PASSWORD_LENGTH} characters`,
        );
      }
      return token;
    case "word":
      if (token.length > MAX_WORD_LENGTH) {
        throw new ChatError(
          "too_large",
          `${where}: <${param.name}> over ${MAX_WORD_LENGTH} characters`,
        );
      }
      return token;
  }
}

function checkParams(name: string, params: readonly ParamSpec[]): void {
  const kinds = new Set(["login", "group", "word", "int", "text", "secret"]);
  const seen = new Set<string>();
  params.forEach((param, i) => {
    if (!kinds.has(param.kind)) {
      throw new Error(
        `Cannot register command "${name}": parameter "${param.name}" has unknown kind "${param.kind}"`,
      );
    }
    if (seen.has(param.name)) {
      throw new Error(
        `Cannot register command "${name}": parameter "${param.name}" declared twice`,
      );
    }
    seen.add(param.name);
    if (param.kind === "text" && i !== params.length - 1) {
      throw new Error(
        `Cannot register command "${name}": text parameter "${param.name}" must be last`,
      );
    }
    if (!param.optional && params.slice(0, i).some((p) => p.optional)) {
      throw new Error(
        `Cannot register command "${name}": required "${param.name}" follows an optional one`,
      );
    }
  });
}

function usageOf(name: string, params: readonly ParamSpec[]): string {
  const parts = params.map((p) => {
    const label = p.kind === "text" ? `${p.name}...` : p.name;
    return p.optional ? `[${label}]` : `<${label}>`;
  });
  return ["/" + name, ...parts].join(" ");
}
