// The plugin API: what a chat command plugin exports and the handle the server gives it.
// Built-in commands and operators' drop-in files use exactly this contract and import only its types.

import type { ErrorCode } from "./errors.ts";
import type { MessageEvent, ParamSpec, Scope } from "./messages.ts";

export type { ErrorCode } from "./errors.ts";
export { ERROR_CODES } from "./errors.ts";
export type { MessageEvent, ParamKind, ParamSpec, Scope } from "./messages.ts";

/**
 * A plugin module's default export.
 *
 * @example
 * ```ts
 * import type { Plugin } from "chatz/plugin";
 * const plugin: Plugin = {
 *   name: "echo",
 *   description: "Repeats what you say back to you",
 *   setup(ctx) {
 *     ctx.command({
 *       name: "echo",
 *       summary: "Repeat a text back to you",
 *       params: [{ name: "text", kind: "text" }],
 *       handler: (call) => call.ok(String(call.args.text)),
 *     });
 *   },
 * };
 * export default plugin;
 * ```
 */
export interface Plugin {
  /** Unique among loaded plugins; names the plugin in logs and errors. */
  name: string;
  /** One sentence saying what the plugin adds. */
  description: string;
  /** Registers the plugin's commands and hooks; may be async. */
  setup(ctx: PluginContext): void | Promise<void>;
}

/** The handle a plugin gets at setup: everything it registers is owned by it. */
export interface PluginContext {
  /** Adds a command; a name or alias taken by another plugin is an error naming both. */
  command(spec: CommandSpec): void;
  /** Runs `hook` on every chat message about to be stored and delivered. */
  onDeliver(hook: DeliverHook): void;
  /** Writes to the server log, tagged with the plugin's name. Never log message texts or passwords. */
  log: PluginLog;
}

/** Structured logging for plugins: an event name and fields. */
export interface PluginLog {
  /** Logs an event at level `info`. */
  info(event: string, fields?: Record<string, unknown>): void;
  /** Logs an event at level `warn`. */
  warn(event: string, fields?: Record<string, unknown>): void;
  /** Logs an event at level `error`. */
  error(event: string, fields?: Record<string, unknown>): void;
}

/** A command's declaration: its grammar is data, checked by the server before the handler runs. */
export interface CommandSpec {
  /** One word, or two for a subcommand such as `group join`. Lowercase. */
  name: string;
  /** Other one-word names, for example `g` for `group say`. */
  aliases?: readonly string[];
  /** One line for `/help`. */
  summary: string;
  /** Parameters in order; a `text` parameter takes the rest of the line and must be last. */
  params?: readonly ParamSpec[];
  /** Example lines, shown by `/help COMMAND`. */
  examples?: readonly string[];
  /** Runs the command; a chat services error becomes the reply, any other throw `plugin_failed`. */
  handler: CommandHandler;
}

/** Runs a command whose arguments already passed the grammar checks. */
export type CommandHandler = (call: CommandCall) => CommandResult | Promise<CommandResult>;

/** Arguments by parameter name: `int` parameters are numbers, the rest strings, missing optionals absent. */
export type CommandArgs = Readonly<Record<string, string | number | undefined>>;

/** What a handler gets: the caller, the checked arguments, the chat services and reply helpers. */
export interface CommandCall {
  /** Who ran the command, taken from the session. */
  caller: Caller;
  /** The arguments, parsed and checked against the command's `params`. */
  args: CommandArgs;
  /** The server's services: send messages, manage groups, read history. */
  chat: ChatServices;
  /** A successful reply: `text` for people, `data` for programs. */
  ok(text?: string, data?: unknown): CommandResult;
  /** An error reply with a documented code. */
  fail(code: ErrorCode, message: string): CommandResult;
}

/** The reply a handler returns. */
export type CommandResult =
  | { ok: true; text?: string; data?: unknown }
  | { ok: false; code: ErrorCode; message: string };

/** The logged-in user who ran the command. The server sets it from the session, never from the request. */
export interface Caller {
  /** The account's login, spelled as when it was registered. */
  login: string;
  /** This connection's session id; one account may have several. */
  session: string;
  /** The client's id for the message this command sends, when it gave one: re-sends are answered once. */
  cid?: string;
}

/** A stored and delivered message's identity. */
export interface Sent {
  /** The stored message's server-wide id, as in its `message` event. */
  id: number;
  /** When the server stored it, in milliseconds since the Unix epoch. */
  ts: number;
  /** Direct messages only: the recipient is offline and gets it at their next login. */
  queued?: boolean;
}

/** A group as the services describe it. */
export interface GroupInfo {
  /** The group's name, spelled as when it was created. */
  name: string;
  /** The owner's login. */
  owner: string;
  /** How many members the group has, the owner included. */
  members: number;
  /** When the group was created, in milliseconds since the Unix epoch. */
  created: number;
}

/** A logged-in account and its sessions. */
export interface OnlineUser {
  /** The account's login, spelled as when it was registered. */
  login: string;
  /** When the account's first current session started, in milliseconds since the Unix epoch. */
  since: number;
  /** How many sessions the account has open. */
  sessions: number;
}

/** Options of a history query. */
export interface HistoryQuery {
  /** Only messages with an id below this one: the paging cursor. */
  before?: number;
  /** How many of the newest matching messages, oldest first in the answer. */
  limit: number;
}

/**
 * What the server offers a command handler. Methods that cannot do what is asked throw an error
 * carrying a protocol code; the server turns it into the caller's error reply.
 */
export interface ChatServices {
  /** Stores and delivers a message to everyone online. */
  sendPublic(from: Caller, text: string, opts?: { action?: boolean }): Sent;
  /** Stores and delivers to every session of `to` and the sender's other sessions; stored for later when `to` is offline. */
  sendDirect(from: Caller, to: string, text: string, opts?: { action?: boolean }): Sent;
  /** Stores and delivers to the online members of a group the sender belongs to. */
  sendGroup(from: Caller, group: string, text: string, opts?: { action?: boolean }): Sent;
  /** Sends a notice line to every session of one login. */
  notify(login: string, text: string): void;

  /** Everyone online, sorted by login. */
  online(): OnlineUser[];
  /** The registered spelling of a login, or undefined when there is no such account. */
  account(login: string): string | undefined;

  /** Every group, sorted by name. */
  groups(): GroupInfo[];
  /** One group, or undefined. */
  group(name: string): GroupInfo | undefined;
  /** The logins in a group, sorted. */
  members(group: string): string[];
  /** The groups a login belongs to, sorted. */
  groupsOf(login: string): string[];
  /** Creates a group with `owner` as its owner and first member. */
  createGroup(owner: Caller, name: string): GroupInfo;
  /** Adds the caller and replays up to the group's 20 latest messages to the caller's session. */
  joinGroup(caller: Caller, name: string): GroupInfo;
  /** Removes the caller; the longest-standing member succeeds an owner; an empty group is deleted. */
  leaveGroup(caller: Caller, name: string): void;
  /** Owner only: removes a member. */
  kickFromGroup(owner: Caller, name: string, login: string): void;
  /** Owner only: hands ownership to another member. */
  transferGroup(owner: Caller, name: string, login: string): void;

  /** Messages of a conversation the caller may see, oldest first. */
  history(caller: Caller, target: HistoryTarget, query: HistoryQuery): MessageEvent[];
  /**
   * Changes the caller's password after checking the current one. Every session token of the
   * account stops working; resolves with a new one for the caller's session.
   */
  changePassword(caller: Caller, current: string, next: string): Promise<string>;
}

/** A conversation: the public room, a direct conversation with one login, or a group. */
export type HistoryTarget =
  | { scope: "public" }
  | { scope: "direct"; with: string }
  | { scope: "group"; group: string };

/** What a deliver hook decides: nothing keeps the message, `text` replaces it, `drop` refuses it. */
export type DeliverVerdict = void | { text: string } | { drop: string };

/** Sees a chat message before it is stored and delivered. */
export type DeliverHook = (message: OutgoingMessage) => DeliverVerdict;

/** A message on its way, as deliver hooks see it. */
export interface OutgoingMessage {
  /** Where the message goes. */
  scope: Scope;
  /** The sender's login. */
  from: string;
  /** The text as the earlier hooks left it. */
  text: string;
  /** Direct messages: the recipient's login. */
  to?: string;
  /** Group messages: the group's name. */
  group?: string;
}
