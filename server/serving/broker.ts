// The session layer: decodes frames, logs peers in, dispatches commands and replies, ends sessions.
// A peer is known only by its ROUTER routing id; what it may do follows from the session bound to it.

import {
  decodeFrames,
  type ErrorCode,
  isRequestError,
  isValidName,
  type LoginData,
  type LoginRequest,
  NAME_RULE,
  nameKey,
  parseRequest,
  PROTOCOL_VERSION,
  WireError,
} from "../../protocol/mod.ts";
import type { CommandResult } from "../../protocol/plugin.ts";
import { type ChatCore, MAX_CATCHUP } from "./chat.ts";
import { type Logger, printable } from "../log.ts";
import type { Outbox, Recipient } from "./outbox.ts";
import {
  hashPassword,
  newToken,
  TOKEN_LIFETIME_MS,
  tokenHash,
  verifyPassword,
} from "./passwords.ts";
import type { Registry } from "./registry.ts";
import { encodeReply } from "./reply.ts";
import type { Session, SessionTable } from "./sessions.ts";
import type { Store } from "./store/store.ts";
import type { RateLimiter } from "./rate_limit.ts";
import type { LoginThrottle } from "./throttle.ts";
import { isAutoRoutingId, isConnectionNotice } from "../../transport/routing_ids.ts";

/** The default session timeout: a session silent this long is taken as gone. */
export const SESSION_TIMEOUT_MS = 15_000;
/** Bad frames from one connection are logged at most once in this period. */
const BAD_FRAME_WARN_EVERY_MS = 60_000;
/** Clients are asked to send something this many times per timeout, so one lost ping is survived. */
const PINGS_PER_TIMEOUT = 3;

/** Logins no account may take: `public` names the public room in `/history`. */
const RESERVED_LOGINS = new Set(["public"]);

/** Whether new logins register themselves. */
export type Registration = "open" | "closed";

/** What the broker works with. */
export interface BrokerDeps {
  registry: Registry;
  chat: ChatCore;
  sessions: SessionTable;
  store: Store;
  outbox: Outbox;
  log: Logger;
  registration: Registration;
  version: string;
  now: () => number;
  /** Something was queued outside a receive turn: flush soon. */
  requestFlush: () => void;
  /** Failed logins per login and per connection, shared with `/passwd`. */
  throttle: LoginThrottle;
  /** Commands per account: the flood limit. */
  commandLimit: RateLimiter;
  /** A session silent this long is ended with `timed_out`. */
  sessionTimeoutMs: number;
  /** Most sessions one account may have at once. */
  maxSessionsPerAccount: number;
  /** An async command handler not settled after this long answers `plugin_failed`. */
  handlerTimeoutMs?: number;
}

/** The broker's interface to the socket owner and the operator. */
export type Broker = ReturnType<typeof createBroker>;

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
        const caller = session && { login: session.login, session: session.id, cid: request.cid };
        const encoded = registry.reply(request.id, caller, request, {
          chat,
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

  async function login(to: Recipient, request: LoginRequest): Promise<void> {
    const name = request.login;
    const refuse = (code: ErrorCode, message: string, reason: string) => {
      log.warn("login_refused", { login: name.slice(0, 40), peer: hex(to.peer), reason });
      replyError(to, request.id, code, message);
    };
    const refuseShutdown = () =>
      refuse("server_shutdown", "Cannot log in: the server is shutting down", "shutdown");
    if (!isValidName(name)) {
      return refuse(
        "invalid_name",
        `Cannot log in as "${name.slice(0, 40)}": logins are ${NAME_RULE}`,
        "invalid_name",
      );
    }
    if (shuttingDown) return refuseShutdown();
    const key = nameKey(name);
    if (RESERVED_LOGINS.has(key)) {
      return refuse("invalid_name", `Cannot log in as "${name}": the name is reserved`, "reserved");
    }
    const peerKey = "peer:" + to.id;
    const wait = Math.max(throttle.waitFor(key, now()), throttle.waitFor(peerKey, now()));
    if (wait > 0) {
      return refuse(
        "login_throttled",
        `Cannot log in as "${name}": too many failed attempts; retry in ${
          Math.ceil(wait / 1000)
        } s`,
        "throttled",
      );
    }
    if (sessions.of(key).length >= deps.maxSessionsPerAccount) {
      return refuse(
        "limit_reached",
        `Cannot log in as "${name}": it has ${deps.maxSessionsPerAccount} sessions, the most allowed`,
        "too_many_sessions",
      );
    }
    const failed = (code: ErrorCode, message: string, reason: string) => {
      throttle.fail(key, now());
      throttle.fail(peerKey, now());
      refuse(code, message, reason);
    };

    let token = request.token;
    let registered = false;
    if (token !== undefined) {
      if (store.tokenAccount(tokenHash(token), now()) !== key) {
        return failed(
          "wrong_password",
          `Cannot log in as "${name}": the session token is not valid`,
          "bad_token",
        );
      }
    } else {
      const password = request.password ?? "";
      if (password.length === 0) {
        return refuse(
          "bad_password",
          `Cannot log in as "${name}": a password is required`,
          "no_password",
        );
      }
      const account = store.account(key);
      if (account) {
        if (!(await verifyPassword(password, account.password))) {
          return failed(
            "wrong_password",
            `Cannot log in as "${name}": wrong password`,
            "wrong_password",
          );
        }
      } else {
        if (deps.registration === "closed") {
          // Counted against the connection, so probing which logins exist is slowed down too.
          throttle.fail(peerKey, now());
          return refuse(
            "registration_closed",
            `Cannot log in as "${name}": no such account and registration is closed`,
            "registration_closed",
          );
        }
        const hash = await hashPassword(password);
        if (store.account(key)) {
          return failed(
            "wrong_password",
            `Cannot log in as "${name}": the login was just taken`,
            "race",
          );
        }
        store.createAccount({ key, login: name, password: hash, created: now() });
        registered = true;
        log.info("register", { login: name });
      }
      token = newToken();
      store.saveToken(tokenHash(token), key, now(), now() + TOKEN_LIFETIME_MS);
    }
    if (cancelled.has(to.id)) return; // the connection that asked is gone
    // The password check waited: the server may have begun shutting down meanwhile.
    if (shuttingDown) return refuseShutdown();
    if (sessions.get(to.id)) {
      return replyError(
        to,
        request.id,
        "already_logged_in",
        "Cannot log in: this connection logged in meanwhile",
      );
    }
    const account = store.account(key);
    if (!account) {
      return refuse(
        "no_such_user",
        `Cannot log in as "${name}": the account was removed`,
        "removed",
      );
    }
    throttle.succeed(key);
    throttle.succeed(peerKey);
    const missed = request.resume === undefined ? [] : chat.missedBy(key, request.resume);
    const session: Session = {
      id: to.id,
      peer: to.peer,
      account: key,
      login: account.login,
      since: now(),
      lastSeen: now(),
      // Shown on the operator's terminal: no control characters get there.
      client: printable((request.client ?? "").slice(0, 64)),
      host: printable((request.host ?? "").slice(0, 64)),
      ...(request.echo ? { echo: true } : {}),
    };
    const first = sessions.add(session);
    const data: Omit<LoginData, "catalog"> = {
      login: account.login,
      registered,
      token,
      server: { name: "chatz", version: deps.version, protocol: PROTOCOL_VERSION },
      pingIntervalMs: Math.floor(deps.sessionTimeoutMs / PINGS_PER_TIMEOUT),
      cursor: store.lastMessageId,
      catchup: {
        count: Math.min(missed.length, MAX_CATCHUP),
        complete: missed.length <= MAX_CATCHUP,
      },
    };
    const text = `Logged in as ${account.login}`;
    outbox.push(to, encodeLoginReply(request.id, text, data, registry.catalogJson()));
    chat.sessionStarted(session, first, missed);
    log.info("login", {
      login: account.login,
      session: hex(to.peer),
      host: session.host,
      client: session.client,
      resumed: request.token !== undefined,
    });
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
   * A connection started or ended (libzmq's notice): whatever session its routing id held ends now,
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
    chat.sessionEnded(removed.session, removed.last);
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
     * Handles one message from the ROUTER: the routing id and the frames after it. Returns how many
     * requests it held (a frame that cannot be decoded counts as one).
     */
    handle(peer: Uint8Array, frames: Uint8Array[]): number {
      const to: Recipient = { id: latin1(peer), peer };
      if (isConnectionNotice(frames)) {
        connectionChanged(to);
        return 1;
      }
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
      if (!isAutoRoutingId(peer)) {
        refuseChosenId(to, messages);
        return messages.length;
      }
      const session = sessions.get(to.id);
      if (session) session.lastSeen = now();
      for (const message of messages) handleOne(to, message);
      return messages.length;
    },

    /** A send to a peer failed: a peer that is gone loses its session. */
    sendFailed(peer: Uint8Array, code: string | undefined, body: string): void {
      const key = latin1(peer);
      if (code === "EHOSTUNREACH") return endSession(key, "unreachable");
      const session = sessions.get(key);
      if (code === "EAGAIN" && session) {
        // The peer's queue is full: the first message of the lost frame is where it resumes.
        const first = /"type":"message","id":(\d+)/.exec(body);
        // A frame without chat messages (presence, replies): nothing is missed up to now.
        chat.lagged(session, first ? Number(first[1]) : store.lastMessageId + 1);
        return;
      }
      log.debug("send_failed", { peer: hex(peer), code });
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
 * The login reply. The catalog, the same for every login and the bulk of the reply, is spliced in
 * as encoded once by the registry; the result parses to the `Reply` with the full `LoginData`.
 */
export function encodeLoginReply(
  id: number,
  text: string,
  data: Omit<LoginData, "catalog">,
  catalogJson: string,
): string {
  const head = JSON.stringify({ re: id, ok: true, text, data }); // ends with the two closing braces
  return `${head.slice(0, -2)},"catalog":${catalogJson}}}`;
}

/** The peer key of a routing id: its bytes as a latin1 string, cheap to make and to hash. */
export function latin1(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}

/** A routing id in hex, for logs. */
export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
