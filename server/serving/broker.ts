// The session layer: decodes frames, logs peers in, dispatches commands and replies, ends sessions.
// A peer is known only by its transport id (peer_transport.ts); what it may do follows from its session.

import {
  decodeFrames,
  type ErrorCode,
  isRequestError,
  nameKey,
  parseRequest,
  WireError,
} from "../../protocol/mod.ts";
import type { CommandResult } from "../../protocol/plugin.ts";
import type { Recipient, SendFailure } from "./peer_transport.ts";
import { encodeReply } from "./reply.ts";
import type { Session } from "./sessions.ts";
import type { BrokerDeps } from "./broker/deps.ts";
import { createLogin, hex } from "./broker/login.ts";

export type { BrokerDeps, Registration } from "./broker/deps.ts";
export { encodeLoginReply, hex } from "./broker/login.ts";

/** Bad frames from one connection are logged at most once in this period. */
const BAD_FRAME_WARN_EVERY_MS = 60_000;

/** Builds the broker. */
export function createBroker(deps: BrokerDeps) {
  const { registry, chat, sessions, store, outbox, log, now } = deps;
  const { throttle } = deps;
  /** Requests that arrived while the peer's login was being checked, answered in order afterwards. */
  const backlog = new Map<string, unknown[]>();
  /** Peers whose connection ended while their login was being checked: that login is dropped. */
  const cancelled = new Set<string>();
  /** When each peer's last bad-frame warning was logged. */
  const warnedAt = new Map<string, number>();
  let badFrames = 0;
  /** Set once the server began to stop: logins are refused with `server_shutdown`. */
  let shuttingDown = false;
  const login = createLogin(deps, {
    cancelled,
    get shuttingDown() {
      return shuttingDown;
    },
  });

  function reply(to: Recipient, id: number, result: CommandResult): void {
    outbox.push(to, encodeReply(id, result));
  }

  function replyError(to: Recipient, id: number, code: ErrorCode, message: string): void {
    reply(to, id, { ok: false, code, message });
  }

  function pushEvent(to: Recipient, event: object): void {
    outbox.push(to, JSON.stringify(event));
  }

  function handleOne(to: Recipient, message: unknown): void {
    const pending = backlog.get(to.id);
    if (pending) {
      pending.push(message);
      return;
    }
    const request = parseRequest(message);
    if (isRequestError(request)) {
      if (request.id === undefined) {
        pushEvent(to, { type: "error", code: request.code, message: request.message });
      } else replyError(to, request.id, request.code, request.message);
      return;
    }
    const session = sessions.get(to.id);
    switch (request.op) {
      case "cmd": {
        if (session) {
          const wait = deps.commandLimit.take(session.account, now());
          if (wait > 0) {
            return replyError(
              to,
              request.id,
              "rate_limited",
              `Cannot run "/${request.cmd.slice(0, 32)}": too many commands; retry in ${
                Math.max(0.1, Math.ceil(wait / 100) / 10)
              } s`,
            );
          }
        }
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
        return;
      }
      case "ping":
        // A client that thinks it is logged in learns here that this connection has no session
        // (the server restarted and libzmq re-dialled by itself): it logs in again and resumes.
        reply(to, request.id, session ? { ok: true } : { ok: true, data: { session: false } });
        return;
      case "logout":
        if (!session) {
          return replyError(to, request.id, "not_logged_in", "Cannot log out: not logged in");
        }
        reply(to, request.id, { ok: true });
        endSession(to.id, "logout");
        return;
      case "login":
        if (session) {
          return replyError(
            to,
            request.id,
            "already_logged_in",
            `Cannot log in: already logged in as "${session.login}"`,
          );
        }
        backlog.set(to.id, []);
        login(to, request).catch((error) => {
          log.error("login_failed", { error });
          replyError(
            to,
            request.id,
            "internal_error",
            "Cannot log in: the server failed; it logged why",
          );
        }).finally(() => {
          const queued = cancelled.delete(to.id) ? [] : backlog.get(to.id) ?? [];
          backlog.delete(to.id);
          for (const next of queued) handleOne(to, next);
          deps.requestFlush();
        });
        return;
    }
  }

  function onPluginFailure(plugin: string, command: string, error: unknown): void {
    log.error("plugin_failed", {
      plugin,
      command,
      error: error instanceof Error ? error.stack ?? error.message : String(error),
    });
  }

  /** Logs a peer's misbehaviour at most once a minute per connection: garbage must not flood the log. */
  function warnPeer(to: Recipient, event: string, fields: Record<string, unknown>): void {
    const last = warnedAt.get(to.id) ?? -Infinity;
    if (now() - last <= BAD_FRAME_WARN_EVERY_MS) return;
    if (warnedAt.size >= 10_000) warnedAt.clear();
    warnedAt.set(to.id, now());
    log.warn(event, { peer: hex(to.peer), ...fields });
  }

  /**
   * A connection started or ended (the transport's notice): whatever session its id held ends now,
   * so a later connection that chooses the same id finds nothing, and a login still being checked
   * for the connection that ended is dropped when it completes.
   */
  function connectionChanged(to: Recipient): void {
    if (backlog.has(to.id)) cancelled.add(to.id);
    warnedAt.delete(to.id);
    endSession(to.id, "disconnected");
  }

  /**
   * A peer that chose its own routing id gets an error for each request and nothing else: only ids
   * libzmq makes, from a counter seeded at random, are known to belong to one connection.
   */
  function refuseChosenId(to: Recipient, messages: unknown[]): void {
    warnPeer(to, "routing_id_refused", { requests: messages.length });
    const message = "Cannot serve this connection: it chose its own ZeroMQ routing id; " +
      "connect without setting ZMQ_ROUTING_ID";
    for (const raw of messages) {
      const id = parseRequest(raw).id;
      if (id === undefined) pushEvent(to, { type: "error", code: "routing_id_refused", message });
      else replyError(to, id, "routing_id_refused", message);
    }
  }

  /** Forgets a session; others see the account go offline when it was its last. */
  function endSession(peerKey: string, reason: string): void {
    const removed = sessions.remove(peerKey);
    if (!removed) return;
    chat.sessionEnded(removed.session, removed.last, reason);
    log.info("logout", {
      login: removed.session.login,
      session: hex(removed.session.peer),
      reason,
    });
  }

  /** Tells a session it is over, then forgets it. */
  function byeSession(session: Session, code: ErrorCode, message: string, reason: string): void {
    pushEvent(session, { type: "bye", code, message });
    endSession(session.id, reason);
  }

  return {
    /**
     * Handles one message from a peer (the frames after any addressing). Returns how many requests
     * it held (a frame that cannot be decoded counts as one). An unverified peer (see
     * `TransportEvents.received`) gets an error for each request and nothing else.
     */
    handle(to: Recipient, frames: Uint8Array[], verified: boolean): number {
      let messages: unknown[];
      try {
        messages = decodeFrames(frames);
      } catch (error) {
        if (!(error instanceof WireError)) throw error;
        badFrames++;
        warnPeer(to, "bad_frame", { code: error.code, frames: frames.length, total: badFrames });
        pushEvent(to, { type: "error", code: error.code, message: error.message });
        return 1;
      }
      if (!verified) {
        refuseChosenId(to, messages);
        return messages.length;
      }
      const session = sessions.get(to.id);
      if (session) session.lastSeen = now();
      for (const message of messages) handleOne(to, message);
      return messages.length;
    },

    connectionChanged,

    /** A send to a peer failed: a peer that is gone loses its session, a full one lags. */
    sendFailed(to: Recipient, failure: SendFailure, body: string, code?: string): void {
      if (failure === "gone") return endSession(to.id, "unreachable");
      const session = sessions.get(to.id);
      if (failure === "full" && session) {
        // The peer's queue is full: the first message of the lost frame is where it resumes; a
        // frame without chat messages (presence, replies): nothing is missed up to now.
        chat.lagged(session, firstMissed(body) ?? store.lastMessageId + 1);
        return;
      }
      log.debug("send_failed", { peer: hex(to.peer), code });
    },

    /** Ends sessions silent past the timeout. */
    sweep(): void {
      for (const session of sessions.idleSince(now() - deps.sessionTimeoutMs)) {
        byeSession(
          session,
          "timed_out",
          "Session timed out: the server heard nothing from it",
          "timeout",
        );
      }
      throttle.prune(now());
      deps.commandLimit.prune(now());
    },

    /** Sends catch-up to lagging sessions; ends those lagging for longer than `limitMs`. */
    retryLagging(limitMs: number): void {
      for (const session of chat.retryLagging(now() - limitMs)) {
        session.lagging = undefined;
        byeSession(
          session,
          "too_slow",
          `Session ended: it read nothing for ${limitMs / 1000} s`,
          "too_slow",
        );
      }
    },

    /** Ends every session of a login; returns how many there were. */
    kick(login: string, reason: string): number {
      const list = [...sessions.of(nameKey(login))];
      for (const session of list) {
        byeSession(
          session,
          "kicked",
          reason ? `Kicked by the operator: ${reason}` : "Kicked by the operator",
          "kicked",
        );
      }
      return list.length;
    },

    /**
     * The server is stopping: every session ends with `server_shutdown` and no login is admitted
     * from now on, so no client logs back in to a server about to go. Returns how many ended.
     */
    shutdown(message: string): number {
      shuttingDown = true;
      const list = [...sessions.all()];
      for (const session of list) byeSession(session, "server_shutdown", message, "shutdown");
      return list.length;
    },

    /** Ends every session with a code, for shutdown and a cleared identity store. */
    endAll(code: ErrorCode, message: string, reason: string): number {
      const list = [...sessions.all()];
      for (const session of list) byeSession(session, code, message, reason);
      return list.length;
    },
  };
}

/**
 * The lowest id of the chat messages a lost frame's body carried, history replays left out (they
 * are old messages shown again, not missed ones), or undefined when it carried none. Parsed, not
 * matched: it must not depend on the encoder's key order.
 */
export function firstMissed(body: string): number | undefined {
  let events: unknown;
  try {
    events = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!Array.isArray(events)) return undefined;
  let first: number | undefined;
  for (const event of events) {
    if (typeof event !== "object" || event === null) continue;
    const { type, id, history } = event as { type?: unknown; id?: unknown; history?: unknown };
    if (type !== "message" || history === true || typeof id !== "number") continue;
    if (first === undefined || id < first) first = id;
  }
  return first;
}
