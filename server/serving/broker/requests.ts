// Requests of a peer, one at a time: commands through the registry (under the flood limit), pings,
// logouts and logins. Requests that arrive while a login is being checked wait and follow it in order.

import {
  type CommandRequest,
  type ErrorCode,
  isRequestError,
  type LoginRequest,
  parseRequest,
} from "../../../protocol/mod.ts";
import type { CommandResult } from "../../../protocol/plugin.ts";
import { ChatError } from "../../../protocol/errors.ts";
import type { Recipient } from "../peer_transport.ts";
import { encodeReply } from "../reply.ts";
import type { Session } from "../sessions.ts";
import type { BrokerDeps } from "./deps.ts";

/** What the request handler needs besides the deps: the login flow and how sessions end. */
export interface RequestParts {
  login(to: Recipient, request: LoginRequest): Promise<void>;
  endSession(peerKey: string, reason: string): void;
  /** True when the peer's connection ended while its login was checked: drop what waited. */
  takeCancelled(peerKey: string): boolean;
  /** The bye the server ended this connection's session with, if it still remembers it. */
  byeOf(peerKey: string): { code: ErrorCode; message: string } | undefined;
}

/** Handles requests; `loggingIn` tells whether a peer's login is being checked. */
export interface Requests {
  handleOne(to: Recipient, message: unknown): void;
  loggingIn(peerKey: string): boolean;
}

/** The refusal of a command over the account's flood limit, or undefined when it may run. */
function floodRefusal(deps: BrokerDeps, session: Session, cmd: string): CommandResult | undefined {
  const wait = deps.commandLimit.take(session.account, deps.now());
  if (wait <= 0) return undefined;
  return {
    ok: false,
    code: "rate_limited",
    message: `Cannot run "/${cmd.slice(0, 32)}": too many commands; retry in ${
      Math.max(0.1, Math.ceil(wait / 100) / 10)
    } s`,
  };
}

/** Builds the request handler. */
export function createRequests(deps: BrokerDeps, parts: RequestParts): Requests {
  const { registry, chat, sessions, outbox, log } = deps;
  /** Requests that arrived while the peer's login was being checked, answered in order afterwards. */
  const backlog = new Map<string, unknown[]>();

  function reply(to: Recipient, id: number, result: CommandResult): void {
    outbox.push(to, encodeReply(id, result));
  }

  function replyError(to: Recipient, id: number, code: ErrorCode, message: string): void {
    reply(to, id, { ok: false, code, message });
  }

  function onPluginFailure(plugin: string, command: string, error: unknown): void {
    log.error("plugin_failed", {
      plugin,
      command,
      error: error instanceof Error ? error.stack ?? error.message : String(error),
    });
  }

  /** A command: through the flood limit, then the registry, which answers now or later. */
  function command(
    to: Recipient,
    session: Session | undefined,
    request: CommandRequest,
  ): void {
    const refused = session && floodRefusal(deps, session, request.cmd);
    if (refused) return reply(to, request.id, refused);
    const caller = session && Object.freeze({ login: session.login, session: session.id });
    const encoded = registry.reply(request.id, caller, request, {
      services: chat.bind,
      onPluginFailure,
      timeoutMs: deps.handlerTimeoutMs,
    });
    if (typeof encoded === "string") return outbox.push(to, encoded);
    // registry.reply's promise never rejects; the catch is for a fault of the server's own.
    encoded.then((text) => outbox.push(to, text)).catch((error) => {
      log.error("reply_failed", { error });
      replyError(to, request.id, "internal_error", "Cannot run the command: the server failed");
    }).finally(deps.requestFlush);
  }

  /** A login: checked asynchronously while the peer's further requests wait in the backlog. */
  function login(to: Recipient, session: Session | undefined, request: LoginRequest): void {
    if (session) {
      return replyError(
        to,
        request.id,
        "already_logged_in",
        `Cannot log in: already logged in as "${session.login}"`,
      );
    }
    backlog.set(to.id, []);
    parts.login(to, request).catch((error) => {
      log.error("login_failed", { error });
      if (error instanceof ChatError) return replyError(to, request.id, error.code, error.message);
      replyError(
        to,
        request.id,
        "internal_error",
        "Cannot log in: the server failed; it logged why",
      );
    }).finally(() => {
      const queued = parts.takeCancelled(to.id) ? [] : backlog.get(to.id) ?? [];
      backlog.delete(to.id);
      for (const next of queued) handleOne(to, next);
      deps.requestFlush();
    });
  }

  function handleOne(to: Recipient, message: unknown): void {
    // Over its budget this turn, the session ends at the flush: what it asks meanwhile is not done.
    if (outbox.isOverBudget(to.id)) return;
    const pending = backlog.get(to.id);
    if (pending) {
      pending.push(message);
      return;
    }
    const request = parseRequest(message);
    if (isRequestError(request)) {
      if (request.id === undefined) {
        outbox.push(
          to,
          JSON.stringify({ type: "error", code: request.code, message: request.message }),
        );
      } else replyError(to, request.id, request.code, request.message);
      return;
    }
    const session = sessions.get(to.id);
    switch (request.op) {
      case "cmd":
        return command(to, session, request);
      case "ping":
        // A client that thinks it is logged in learns here that this connection has no session
        // (the server restarted and libzmq re-dialled by itself): it logs in again and resumes.
        // A session the server ended: the reply carries its bye, which may have been lost.
        if (session) return reply(to, request.id, { ok: true });
        return reply(to, request.id, {
          ok: true,
          data: { session: false, ...(parts.byeOf(to.id) && { bye: parts.byeOf(to.id) }) },
        });
      case "logout":
        if (!session) {
          return replyError(to, request.id, "not_logged_in", "Cannot log out: not logged in");
        }
        reply(to, request.id, { ok: true });
        // A token outlives its session by design (a client resumes with it); a logout says the
        // user is done, so it must not log in again from a copy of it (a stolen one included).
        if (session.tokenHash) deps.store.dropToken(session.tokenHash);
        if (session.passwdTokenHash) deps.store.dropToken(session.passwdTokenHash);
        return parts.endSession(to.id, "logout");
      case "login":
        return login(to, session, request);
    }
  }

  return { handleOne, loggingIn: (peerKey) => backlog.has(peerKey) };
}
