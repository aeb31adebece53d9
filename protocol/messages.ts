// The shapes of everything that travels between a chatz client and server, as TypeScript types.
// Requests carry an `id`; replies carry it back as `re`; pushed events carry a `type` instead.

import type { ErrorCode } from "./errors.ts";

/** Where a chat message goes: the room everyone is in, one person, or a group. */
export type Scope = "public" | "direct" | "group";

// ---- client to server ----

/** Logs a connection in; the first request of every session. */
export interface LoginRequest {
  op: "login";
  id: number;
  login: string;
  /** The account password; a new login registers with it when registration is open. */
  password?: string;
  /** A session token from an earlier login reply: resumes without hashing the password again. */
  token?: string;
  /** Free text naming the client program, for the operator's `users` list. */
  client?: string;
  /** The client machine's name as the client reports it, for the operator's `users` list. */
  host?: string;
  /**
   * The highest message id this client received before it lost its connection: the server then
   * sends every message the account should have received after it, marked `catchup`.
   */
  resume?: number;
  /**
   * Also send this session a `message` event for each message it sends itself (as IRCv3's
   * echo-message), so a client renders its own lines from what the server stored, for every
   * sending command, plugin commands included. Default false: the reply is the acknowledgement.
   */
  echo?: boolean;
  /**
   * False: a login with no account is not registered; the reply is the error `new_account`, so
   * the client can say "new account" and confirm the password before logging in again without
   * it. Absent or true: an unknown login registers (when the server allows it).
   */
  register?: boolean;
  /** An invitation code from the operator: lets a new login register while registration is closed. */
  invite?: string;
  /**
   * The client's CURVE public key (Z85, 40 characters), as its socket uses it: required by an
   * encrypted server, which learns from it the network address the connection came from (failed
   * logins and registrations are counted per address). Ignored by a `--no-curve` server.
   */
  key?: string;
}

/** Runs a chat command: `cmd` is the word after the slash, `args` the rest of the line. */
export interface CommandRequest {
  op: "cmd";
  id: number;
  cmd: string;
  args: string;
  /**
   * The client's own id for the message this command sends (up to 64 characters, unique per
   * account): a command re-sent after a lost acknowledgement is answered from the first one.
   */
  cid?: string;
}

/** Keeps the session alive and measures the round trip; the reply has no data. */
export interface PingRequest {
  op: "ping";
  id: number;
}

/** Ends the session; the reply comes before the server forgets it. */
export interface LogoutRequest {
  op: "logout";
  id: number;
}

/** Any request a client may send. */
export type Request = LoginRequest | CommandRequest | PingRequest | LogoutRequest;

// ---- server to client: replies ----

/** A request succeeded; `text` is for people, `data` for programs. */
export interface OkReply {
  re: number;
  ok: true;
  text?: string;
  data?: unknown;
}

/** A request failed with a documented code and a sentence for people. */
export interface ErrorReply {
  re: number;
  ok: false;
  code: ErrorCode;
  message: string;
}

/** The answer to one request, matched by `re`. */
export type Reply = OkReply | ErrorReply;

/** The `data` of a successful login reply. */
export interface LoginData {
  /** The login as the server spells it. */
  login: string;
  /** True when this login created the account. */
  registered: boolean;
  /** Resumes the session later without the password (see `LoginRequest.token`). */
  token: string;
  /** Every command the server offers, for `/help` and completion. */
  catalog: CommandInfo[];
  server: { name: string; version: string; protocol: string };
  /** How often the client should send something (a ping when idle) so the server keeps it. */
  pingIntervalMs: number;
  /**
   * The highest message id when the login was answered: a new session's resume cursor, so a
   * client that receives nothing before a reconnect resumes from here and not from the start.
   */
  cursor: number;
  /** Messages that follow the reply as catch-up for `resume`; `complete` is false when capped. */
  catchup: { count: number; complete: boolean };
}

// ---- server to client: events ----

/** A chat message, live or replayed. */
export interface MessageEvent {
  /** Tells a chat message apart from the other events. */
  type: "message";
  /** Server-wide message id: increasing, unique, the history cursor. */
  id: number;
  /** Milliseconds since the Unix epoch, when the server stored it. */
  ts: number;
  /** Where it was sent. */
  scope: Scope;
  /** The sender's login. */
  from: string;
  /** The message text, at most 4000 characters. */
  text: string;
  /** Direct messages: the recipient. */
  to?: string;
  /** Group messages: the group. */
  group?: string;
  /** True when sent as `/me`: the text describes an action of `from`. */
  action?: boolean;
  /** True when replayed from history rather than new. */
  history?: boolean;
  /** True when stored while the recipient was offline and delivered at login. */
  delayed?: boolean;
  /** True when sent again after a reconnect or a lag, because this session missed it live. */
  catchup?: boolean;
  /**
   * True when the account that sent it was deleted since: `from` is that account's login, not
   * whoever holds the name now.
   */
  fromDeleted?: boolean;
  /**
   * On catch-up copies of the receiving account's own messages only: the `cid` of the command that
   * sent it, so a client drops what it sent itself and keeps what its other sessions sent.
   */
  cid?: string;
}

/** Someone came online or went offline. */
export interface PresenceEvent {
  type: "presence";
  login: string;
  state: "online" | "offline";
  ts: number;
}

/** Something happened to a group the receiver is in (or, for create and delete, any group). */
export interface GroupEvent {
  type: "group";
  group: string;
  action: "create" | "delete" | "join" | "leave" | "kick" | "owner" | "ban" | "topic";
  /** Who joined, left, was kicked, was banned or became owner; for `topic`, who set it. */
  login: string;
  /** For `topic`: the new topic (empty when cleared). */
  topic?: string;
  /** Who did it, when it is someone else (the owner who kicked). */
  by?: string;
  ts: number;
}

/** A line from the server or its operator. */
export interface NoticeEvent {
  type: "notice";
  text: string;
  ts: number;
}

/** The server ends this session: the connection stays, but a new login is needed. */
export interface ByeEvent {
  type: "bye";
  code: ErrorCode;
  message: string;
}

/** An error that no request id can be given for (for example an undecodable frame). */
export interface ErrorEvent {
  type: "error";
  code: ErrorCode;
  message: string;
}

/** Anything the server pushes without being asked. */
export type ServerEvent =
  | MessageEvent
  | PresenceEvent
  | GroupEvent
  | NoticeEvent
  | ByeEvent
  | ErrorEvent;

// ---- the command catalog ----

/**
 * The kinds of command parameters; `text` always takes the rest of the line. A `secret` is one word
 * that clients ask for with a hidden prompt when it is missing, and never echo or keep in history.
 */
export type ParamKind = "login" | "group" | "word" | "int" | "text" | "secret";

/** One parameter of a command's grammar. */
export interface ParamSpec {
  /** The key of its value in the handler's arguments, and its label in the usage line. */
  name: string;
  /** What value it takes and how the server checks it. */
  kind: ParamKind;
  /** May be left out; optional parameters come after the required ones. */
  optional?: boolean;
  /** `int` only: the smallest value accepted. */
  min?: number;
  /** `int` only: the largest value accepted. */
  max?: number;
  /** `secret` only: the label of the hidden prompt a client shows when the value is left out. */
  prompt?: string;
  /** `secret` only: a client asks for it twice and goes on only when both match (a new password). */
  confirm?: boolean;
}

/** A command as the catalog describes it to clients. */
export interface CommandInfo {
  name: string;
  aliases: string[];
  summary: string;
  /** The grammar line, for example `/msg <login> <text>`. */
  usage: string;
  params: ParamSpec[];
  examples: string[];
  /** The plugin that registered it. */
  plugin: string;
}
