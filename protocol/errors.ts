// Error codes of the chatz protocol: the stable snake_case strings every error reply carries.
// docs/PROTOCOL.md lists the same table; codes are never renamed, only added.

/** Every error code a server may send, with the one-line meaning the protocol documents. */
export const ERROR_CODES = {
  bad_frame: "The frame could not be decoded (wrong frame count, not UTF-8 JSON, not an array)",
  bad_version: "The protocol version frame is missing or not supported",
  bad_request: "A request lacks a valid `op` or `id`, or a field has the wrong type",
  too_large: "A frame, batch, text or field is over its documented size limit",
  unknown_op: "The request's `op` is not one the server knows",
  routing_id_refused: "The connection chose its own ZeroMQ routing id; the server serves none such",
  not_logged_in: "The request needs a logged-in session",
  already_logged_in: "This connection is already logged in",
  invalid_name: "A login or group name breaks the name rule",
  unknown_command: "No command or alias by that name",
  bad_arguments: "The command's arguments do not match its grammar",
  no_such_user: "No account with that login",
  user_offline: "The recipient is not online",
  no_such_group: "No group by that name",
  group_exists: "A group by that name already exists",
  not_member: "The caller is not a member of that group",
  already_member: "The caller is already a member of that group",
  forbidden: "The caller may not do this (for example, not the group's owner)",
  blocked: "A plugin refused to deliver the message",
  bad_password: "The password is empty or over its size limit",
  wrong_password: "The password (or session token) does not match the account",
  registration_closed: "The login does not exist and the server does not register new accounts",
  login_throttled:
    "Too many failed logins from this address or connection (or /passwd tries); wait and retry",
  rate_limited: "Too many commands from this account; wait for the time the message says and retry",
  limit_reached: "A configured limit is reached (groups per user, sessions per account)",
  mailbox_full:
    "The recipient is offline and has the most direct messages the server keeps waiting; retry later",
  timed_out: "The server ended a session it heard nothing from; clients resume by themselves",
  too_slow: "The server ended a session that stayed behind in reading its messages",
  plugin_failed: "The command's plugin failed or timed out; the error is logged on the server",
  internal_error: "The server failed to handle the request; the error is logged",
  store_unavailable: "Cluster mode: the database cannot be reached just now; retry in a moment",
  storage_failed: "The server could not store what the request did (a full disk); nothing was done",
  kicked: "The operator ended the session",
  server_shutdown: "The server is shutting down",
  account_deleted: "The operator cleared the identity store; log in again to register",
  not_confirmed: "An operator command that asks for confirmation was not confirmed",
  new_account:
    "The login has no account; the client asked not to register it (`register: false`) and may confirm",
  name_reserved: "The login belonged to a deleted account and stays reserved for a while",
  bad_invite: "The invitation code is unknown, used up or expired",
  banned: "The login or network address is banned (by the operator, or from that group)",
  invite_only: "The group admits only logins its owner invited",
  user_exists: "An account with that login already exists",
  unknown_key:
    "The login's CURVE client `key` is not one this server saw in a handshake (or forgot it); re-dial and log in",
  connection_lost: "Made by the client library, never sent: the connection closed before the reply",
} as const;

/** A stable error code of the chatz protocol. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Tells whether a string is a documented error code. */
export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERROR_CODES, value);
}

/**
 * An expected failure a caller is told about, with a documented code: services throw it, and a
 * command handler may too; the server turns it into the caller's error reply.
 *
 * @example
 * ```ts
 * import { ChatError } from "./errors.ts";
 * throw new ChatError("no_such_group", 'Cannot join group "ops": no such group');
 * ```
 */
export class ChatError extends Error {
  /** Makes an error with a protocol code and a sentence for people. */
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
    this.name = "ChatError";
  }
}
