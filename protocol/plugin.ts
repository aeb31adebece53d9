// The plugin API: what a chat command plugin exports and the handle the server gives it.
// Built-in commands and operators' drop-in files use exactly this contract; ChatError is its one value.

import type { ErrorCode } from "./errors.ts";
import type { MessageEvent, ParamSpec, Scope } from "./messages.ts";

export type { ErrorCode } from "./errors.ts";
export { ChatError, ERROR_CODES } from "./errors.ts";
export type { MessageEvent, ParamKind, ParamSpec, Scope } from "./messages.ts";

/**
 * A plugin module's default export.
 *
 * @example
 * ```ts
 * import type { Plugin } from "./plugin.ts";
 * const plugin: Plugin = {
 *   name: "echo",
 *   description: "Repeats what you say back to you",
 *   setup(ctx) {
 *     ctx.command({
 *       name: "echo",
 *       summary: "Repeat a text back to you",
 *       params: [{ name: "text", kind: "text" }],
 *       handler: (call) => call.ok(call.args.text),
 *     });
 *   },
 * };
 * export default plugin;
 * ```
 */
export interface Plugin {
  /** Unique among loaded plugins; names the plugin in logs, errors, options and storage. */
  name: string;
  /** One sentence saying what the plugin adds. */
  description: string;
  /** Registers the plugin's commands and hooks; may be async, and must settle within the plugin timeout. */
  setup(ctx: PluginContext): void | Promise<void>;
}

/**
 * The handle a plugin gets at setup: everything it registers is owned by it. Registering calls
 * (`command`, `onDeliver`, `on`, `voice`) work only until setup returns; later ones throw.
 *
 * @example
 * ```ts
 * import type { Plugin } from "./plugin.ts";
 * const plugin: Plugin = {
 *   name: "greeter",
 *   description: "Greets people when they log in",
 *   setup(ctx) {
 *     const greeting = ctx.options.greeting ?? "Welcome back";
 *     ctx.on("login", (event, chat) => {
 *       if (event.first) chat.tell(`${greeting}, ${event.login}`);
 *     });
 *   },
 * };
 * export default plugin;
 * ```
 */
export interface PluginContext {
  /** Adds a command; a name or alias taken by another plugin is an error naming both. */
  command<const P extends readonly ParamSpec[] = readonly []>(spec: CommandSpec<P>): void;
  /** Runs `hook` on every chat message about to be stored and delivered. */
  onDeliver(hook: DeliverHook): void;
  /** Runs `handler` after each event of a kind; what it throws or rejects with is logged. */
  on<K extends keyof PluginEvents>(event: K, handler: EventHandler<K>): void;
  /**
   * The server's own voice: notices to one user or to everyone, not sent as any user. Asking for it
   * is logged at setup, and so is every use; `reason` says in the log what the plugin needs it for.
   */
  voice(reason: string): ServerVoice;
  /** This plugin's options from the server's configuration (`--plugin-option NAME.KEY=VALUE`). */
  readonly options: Readonly<Record<string, string>>;
  /** This plugin's own key-value storage in the server's database. */
  readonly storage: PluginStorage;
  /** Writes to the server log, tagged with the plugin's name. Never log message texts or passwords. */
  readonly log: PluginLog;
}

/**
 * Structured logging for plugins: an event name and fields.
 *
 * @example
 * ```ts
 * import type { PluginLog } from "./plugin.ts";
 * function note(log: PluginLog) {
 *   log.info("dice_rolled", { faces: 6 });
 * }
 * ```
 */
export interface PluginLog {
  /** Logs an event at level `info`. */
  info(event: string, fields?: Record<string, unknown>): void;
  /** Logs an event at level `warn`. */
  warn(event: string, fields?: Record<string, unknown>): void;
  /** Logs an event at level `error`. */
  error(event: string, fields?: Record<string, unknown>): void;
}

/**
 * A value a plugin may store: anything JSON can hold.
 *
 * @example
 * ```ts
 * import type { JsonValue } from "./plugin.ts";
 * const value: JsonValue = { seen: 1_700_000_000_000, where: ["public", null] };
 * ```
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | {
  [key: string]: JsonValue;
};

/**
 * A plugin's own key-value storage in the server's database. Keys are at most 200 characters and
 * values at most 64 KiB as JSON. Writes are committed with the turn that made them, before its
 * replies go out. Keys of other plugins are out of reach.
 *
 * @example
 * ```ts
 * import type { PluginStorage } from "./plugin.ts";
 * function count(storage: PluginStorage, login: string): number {
 *   const n = Number(storage.get(`count:${login}`) ?? 0) + 1;
 *   storage.set(`count:${login}`, n);
 *   return n;
 * }
 * ```
 */
export interface PluginStorage {
  /** The value under `key`, or undefined. */
  get(key: string): JsonValue | undefined;
  /** Stores `value` under `key`, replacing what was there. */
  set(key: string, value: JsonValue): void;
  /** Forgets the value under `key`. */
  delete(key: string): void;
  /** Keys starting with `prefix` (all by default), sorted, at most `limit` (default 1000). */
  keys(prefix?: string, limit?: number): string[];
}

/**
 * A command's declaration: its grammar is data, checked by the server before the handler runs.
 * The handler's `call.args` are typed from `params`.
 *
 * @example
 * ```ts
 * import type { CommandSpec } from "./plugin.ts";
 * const spec: CommandSpec<readonly [{ name: "sides"; kind: "int"; optional: true }]> = {
 *   name: "dice",
 *   summary: "Roll one die",
 *   params: [{ name: "sides", kind: "int", optional: true }],
 *   handler: (call) => call.ok(String(1 + Math.floor(Math.random() * (call.args.sides ?? 6)))),
 * };
 * ```
 */
export interface CommandSpec<P extends readonly ParamSpec[] = readonly ParamSpec[]> {
  /** One word, or two for a subcommand such as `group join`. Lowercase. */
  name: string;
  /** Other one-word names, for example `g` for `group say`. */
  aliases?: readonly string[];
  /** One line for `/help`. */
  summary: string;
  /** Parameters in order; a `text` parameter takes the rest of the line and must be last. */
  params?: P;
  /** Example lines, shown by `/help COMMAND`. */
  examples?: readonly string[];
  /**
   * Runs the command. A ChatError thrown becomes the reply; any other throw, a result that is not
   * a reply, or a promise not settled within the plugin timeout answers `plugin_failed`.
   */
  handler(call: CommandCall<P>): CommandResult | Promise<CommandResult>;
}

/**
 * Runs a command whose arguments already passed the grammar checks.
 *
 * @example
 * ```ts
 * import type { CommandHandler } from "./plugin.ts";
 * const ping: CommandHandler = (call) => call.ok("pong");
 * ```
 */
export type CommandHandler<P extends readonly ParamSpec[] = readonly ParamSpec[]> = (
  call: CommandCall<P>,
) => CommandResult | Promise<CommandResult>;

/**
 * The value type of one parameter: `int` parameters are numbers, the others strings.
 *
 * @example
 * ```ts
 * import type { ArgValue } from "./plugin.ts";
 * const n: ArgValue<{ name: "count"; kind: "int" }> = 3;
 * ```
 */
export type ArgValue<S extends ParamSpec> = "int" extends S["kind"]
  ? (S["kind"] extends "int" ? number : string | number)
  : string;

/**
 * Arguments by parameter name, typed from the declared `params`: optional ones may be undefined.
 *
 * @example
 * ```ts
 * import type { CommandArgs } from "./plugin.ts";
 * const args: CommandArgs<readonly [{ name: "login"; kind: "login" }]> = { login: "bob" };
 * ```
 */
export type CommandArgs<P extends readonly ParamSpec[] = readonly ParamSpec[]> = {
  readonly [S in P[number] as S["name"]]: S extends { optional: true } ? ArgValue<S> | undefined
    : ParamSpec extends S ? ArgValue<S> | undefined
    : ArgValue<S>;
};

/**
 * What a handler gets: the caller, the checked arguments, services bound to the caller and reply
 * helpers.
 *
 * @example
 * ```ts
 * import type { CommandCall, CommandResult } from "./plugin.ts";
 * function whoami(call: CommandCall): CommandResult {
 *   return call.ok(`You are ${call.caller.login}`);
 * }
 * ```
 */
export interface CommandCall<P extends readonly ParamSpec[] = readonly ParamSpec[]> {
  /** Who ran the command, taken from the session; frozen. */
  readonly caller: Caller;
  /** The arguments, parsed and checked against the command's `params`. */
  readonly args: CommandArgs<P>;
  /** The server's services, acting as the caller: what they send is sent by the caller. */
  readonly chat: ChatServices;
  /** A successful reply: `text` for people, `data` for programs (anything JSON can encode). */
  ok(text?: string, data?: unknown): CommandResult;
  /** An error reply with a documented code. */
  fail(code: ErrorCode, message: string): CommandResult;
}

/**
 * The reply a handler returns.
 *
 * @example
 * ```ts
 * import type { CommandResult } from "./plugin.ts";
 * const done: CommandResult = { ok: true, text: "Done" };
 * const refused: CommandResult = { ok: false, code: "forbidden", message: "Cannot do it: no" };
 * ```
 */
export type CommandResult =
  | { ok: true; text?: string; data?: unknown }
  | { ok: false; code: ErrorCode; message: string };

/**
 * The logged-in user who ran the command. The server sets it from the session, never from the
 * request, and freezes it.
 *
 * @example
 * ```ts
 * import type { Caller } from "./plugin.ts";
 * const caller: Caller = { login: "alice", session: "0a1b" };
 * ```
 */
export interface Caller {
  /** The account's login, spelled as when it was registered. */
  readonly login: string;
  /** This connection's session id; one account may have several. */
  readonly session: string;
}

/**
 * A stored and delivered message's identity.
 *
 * @example
 * ```ts
 * import type { Sent } from "./plugin.ts";
 * const sent: Sent = { id: 42, ts: 1_700_000_000_000 };
 * ```
 */
export interface Sent {
  /** The stored message's server-wide id, as in its `message` event. */
  id: number;
  /** When the server stored it, in milliseconds since the Unix epoch. */
  ts: number;
  /** Direct messages only: the recipient is offline and gets it at their next login. */
  queued?: boolean;
}

/**
 * A group as the services describe it.
 *
 * @example
 * ```ts
 * import type { GroupInfo } from "./plugin.ts";
 * const ops: GroupInfo = { name: "ops", owner: "alice", members: 3, created: 1_700_000_000_000 };
 * ```
 */
export interface GroupInfo {
  /** The group's name, spelled as when it was created. */
  name: string;
  /** The owner's login. */
  owner: string;
  /** How many members the group has, the owner included. */
  members: number;
  /** When the group was created, in milliseconds since the Unix epoch. */
  created: number;
  /** What the owner set as the group's topic, if anything. */
  topic?: string;
  /** True when only logins the owner invited may join. */
  inviteOnly?: boolean;
}

/**
 * A logged-in account and its sessions.
 *
 * @example
 * ```ts
 * import type { OnlineUser } from "./plugin.ts";
 * const bob: OnlineUser = { login: "bob", since: 1_700_000_000_000, sessions: 2 };
 * ```
 */
export interface OnlineUser {
  /** The account's login, spelled as when it was registered. */
  login: string;
  /** When the account's first current session started, in milliseconds since the Unix epoch. */
  since: number;
  /** How many sessions the account has open. */
  sessions: number;
}

/**
 * Options of a history query.
 *
 * @example
 * ```ts
 * import type { HistoryQuery } from "./plugin.ts";
 * const page: HistoryQuery = { limit: 50, before: 1200 };
 * ```
 */
export interface HistoryQuery {
  /** Only messages with an id below this one: the paging cursor. */
  before?: number;
  /** How many of the newest matching messages, oldest first in the answer. */
  limit: number;
}

/**
 * Options of a send.
 *
 * @example
 * ```ts
 * import type { SendOptions } from "./plugin.ts";
 * const asAction: SendOptions = { action: true };
 * ```
 */
export interface SendOptions {
  /** Shown as an action of the sender, as `/me` does. */
  action?: boolean;
}

/**
 * What the server offers event handlers, bound to the user the event is about: reading, and telling
 * that user something. Methods that cannot do what is asked throw a ChatError.
 *
 * @example
 * ```ts
 * import type { UserServices } from "./plugin.ts";
 * function greet(chat: UserServices): void {
 *   chat.tell(`${chat.online().length} people are online`);
 * }
 * ```
 */
export interface UserServices {
  /** Sends a notice line to the user's sessions (to the caller's session only, for a command). */
  tell(text: string): void;
  /** Shows the user's session messages of a conversation the user may see, marked as history. */
  showHistory(target: HistoryTarget, query: HistoryQuery): number;
  /** Messages of a conversation the user may see, oldest first. */
  history(target: HistoryTarget, query: HistoryQuery): MessageEvent[];
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
}

/**
 * What the server offers a command handler, acting as the caller: there is no way to send as
 * anyone else. Methods that cannot do what is asked throw a ChatError, which becomes the reply.
 *
 * @example
 * ```ts
 * import type { ChatServices } from "./plugin.ts";
 * function shout(chat: ChatServices, text: string): number {
 *   return chat.sendPublic(text.toUpperCase()).id;
 * }
 * ```
 */
export interface ChatServices extends UserServices {
  /** Stores and delivers a message from the caller to everyone online. */
  sendPublic(text: string, opts?: SendOptions): Sent;
  /** Stores and delivers to every session of `to` and the caller's other sessions; kept for later when `to` is offline. */
  sendDirect(to: string, text: string, opts?: SendOptions): Sent;
  /** Stores and delivers to the online members of a group the caller belongs to. */
  sendGroup(group: string, text: string, opts?: SendOptions): Sent;
  /** Creates a group with the caller as its owner and first member. */
  createGroup(name: string): GroupInfo;
  /** Adds the caller to a group (its `group_join` event follows). */
  joinGroup(name: string): GroupInfo;
  /** Removes the caller; the longest-standing member succeeds an owner; an empty group is deleted. */
  leaveGroup(name: string): void;
  /** The group's owner only: removes a member. */
  kickFromGroup(name: string, login: string): void;
  /** The group's owner only: hands ownership to another member. */
  transferGroup(name: string, login: string): void;
  /** The group's owner only: removes a login (if a member) and keeps it from joining again. */
  banFromGroup(name: string, login: string): void;
  /** The group's owner only: lets a banned (or kicked) login join again. */
  unbanFromGroup(name: string, login: string): void;
  /** The group's owner only: sets the topic shown at join and in lists; empty clears it. */
  setGroupTopic(name: string, topic: string): void;
  /**
   * The group's owner only: invites a login, who is told; the group becomes invite-only if it was
   * not (`madeInviteOnly`). An invitation lifts a ban.
   */
  inviteToGroup(name: string, login: string): { login: string; madeInviteOnly: boolean };
  /** The group's owner only: anyone may join again; false when it was open already. */
  openGroup(name: string): boolean;
  /**
   * Operators only (`user role LOGIN operator`), else `forbidden`: ends every session of a login,
   * telling it why; returns how many there were. Logged with the operator's login.
   */
  operatorKick(login: string, reason: string): number;
  /**
   * Operators only: bans a login (its sessions end) or a network address range (CIDR), for
   * `durationMs` or until lifted. Returns a sentence saying what was banned. Logged.
   */
  operatorBan(target: string, options: { durationMs?: number; reason: string }): string;
  /** Operators only: lifts a ban on a login or an address range. Logged. */
  operatorUnban(target: string): void;
  /** Operators only: a notice to everyone online, starting with the operator's login. Logged. */
  operatorBroadcast(text: string): void;
  /**
   * Changes the caller's password after checking the current one. Every session token of the
   * account stops working; resolves with a new one for the caller's session.
   */
  changePassword(current: string, next: string): Promise<string>;
}

/**
 * The server's own voice, for bots and notices: a capability a plugin asks for at setup. Every use
 * is logged with the plugin's name.
 *
 * @example
 * ```ts
 * import type { ServerVoice } from "./plugin.ts";
 * function warn(voice: ServerVoice): void {
 *   voice.announce("The server restarts at noon");
 * }
 * ```
 */
export interface ServerVoice {
  /** Sends a notice line to every session of one login. */
  notify(login: string, text: string): void;
  /** Sends a notice line to every session online. */
  announce(text: string): void;
}

/**
 * A conversation: the public room, a direct conversation with one login, or a group.
 *
 * @example
 * ```ts
 * import type { HistoryTarget } from "./plugin.ts";
 * const target: HistoryTarget = { scope: "group", group: "ops" };
 * ```
 */
export type HistoryTarget =
  | { scope: "public" }
  | { scope: "direct"; with: string }
  | { scope: "group"; group: string };

/**
 * The events a plugin can subscribe to with `ctx.on`, each after it happened.
 *
 * @example
 * ```ts
 * import type { PluginEvents } from "./plugin.ts";
 * const joined: PluginEvents["group_join"] = { group: "ops", login: "bob", session: "0a1b" };
 * ```
 */
export interface PluginEvents {
  /** A session logged in; `first` when the account had no other session. */
  login: { login: string; session: string; first: boolean };
  /** A session ended; `last` when the account has no other session left. */
  logout: { login: string; session: string; last: boolean; reason: string };
  /** A user joined a group with `/group join`. */
  group_join: { group: string; login: string; session: string };
  /** A user left a group, or its owner (`by`) removed them. */
  group_leave: { group: string; login: string; reason: "leave" | "kick"; by?: string };
  /** A chat message was stored and handed out for delivery. */
  message_stored: { message: MessageEvent };
}

/**
 * Handles one kind of event. It gets services bound to the user the event is about (the sender,
 * for `message_stored`); it cannot send chat messages. Failures are logged and change nothing.
 *
 * @example
 * ```ts
 * import type { EventHandler } from "./plugin.ts";
 * const onJoin: EventHandler<"group_join"> = (event, chat) => {
 *   chat.showHistory({ scope: "group", group: event.group }, { limit: 20 });
 * };
 * ```
 */
export type EventHandler<K extends keyof PluginEvents> = (
  event: PluginEvents[K],
  chat: UserServices,
) => void | Promise<void>;

/**
 * What a deliver hook decides: nothing keeps the message, `text` replaces it, `drop` refuses it.
 *
 * @example
 * ```ts
 * import type { DeliverVerdict } from "./plugin.ts";
 * const verdict: DeliverVerdict = { drop: "no links here" };
 * ```
 */
export type DeliverVerdict = void | { text: string } | { drop: string };

/**
 * Sees a chat message before it is stored and delivered.
 *
 * @example
 * ```ts
 * import type { DeliverHook } from "./plugin.ts";
 * const noShouting: DeliverHook = (message) => ({ text: message.text.toLowerCase() });
 * ```
 */
export type DeliverHook = (message: OutgoingMessage) => DeliverVerdict;

/**
 * A message on its way, as deliver hooks see it.
 *
 * @example
 * ```ts
 * import type { OutgoingMessage } from "./plugin.ts";
 * const message: OutgoingMessage = { scope: "public", from: "alice", text: "hi" };
 * ```
 */
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
