// The session layer: decodes frames, logs peers in, dispatches commands and replies, ends sessions.
// A peer is known only by its transport id (peer_transport.ts); what it may do follows from its session.

import {
  decodeFrames,
  MAX_LOGIN_FRAME_BYTES,
  parseRequest,
  WireError,
} from "../../protocol/mod.ts";
import type { Recipient, SendFailure } from "./peer_transport.ts";
import type { Session } from "./sessions.ts";
import { encodeReply } from "./reply.ts";
import type { BrokerDeps } from "./broker/deps.ts";
import { createEndings, type Endings } from "./broker/endings.ts";
import { createLogin, hex } from "./broker/login.ts";
import { createRequests } from "./broker/requests.ts";

export type { BrokerDeps } from "./broker/deps.ts";
export type { Registration } from "./login_access.ts";
export { encodeLoginReply, hex } from "./broker/login.ts";

/** Bad frames from one connection are logged at most once in this period. */
const BAD_FRAME_WARN_EVERY_MS = 60_000;

/** Builds the broker over the registry, the chat services and the serving state. */
export function createBroker(deps: BrokerDeps) {
  const { sessions, outbox, log, now } = deps;
  /** Peers whose connection ended while their login was being checked: that login is dropped. */
  const cancelled = new Set<string>();
  /** When each peer's last bad-frame warning was logged. */
  const warnedAt = new Map<string, number>();
  let badFrames = 0;
  /** Set once the server began to stop: logins are refused with `server_shutdown`. */
  let shuttingDown = false;
  const endings = createEndings(deps);
  const requests = createRequests(deps, {
    login: createLogin(deps, {
      cancelled,
      get shuttingDown() {
        return shuttingDown;
      },
    }),
    endSession: endings.endSession,
    takeCancelled: (peerKey) => cancelled.delete(peerKey),
    byeOf: (peerKey) => endings.byeOf(peerKey),
  });

  function pushEvent(to: Recipient, event: object): void {
    outbox.push(to, JSON.stringify(event));
  }

  /** Logs a peer's misbehaviour at most once a minute per connection: garbage must not flood the log. */
  function warnPeer(to: Recipient, event: string, fields: Record<string, unknown>): void {
    const last = warnedAt.get(to.id) ?? -Infinity;
    if (now() - last <= BAD_FRAME_WARN_EVERY_MS) return;
    if (warnedAt.size >= 10_000) warnedAt.clear();
    warnedAt.set(to.id, now());
    log.warn(event, { peer: hex(to.peer), ...fields });
  }

  return {
    /**
     * Handles one message from a peer (the frames after any addressing). Returns how many requests
     * it held (a frame that cannot be decoded counts as one). An unverified peer (see
     * `TransportEvents.received`) gets an error for each request and nothing else.
     */
    handle(to: Recipient, frames: Uint8Array[], verified: boolean): number {
      const session = sessions.get(to.id);
      let messages: unknown[];
      try {
        messages = decodeFrames(frames, session ? {} : { maxBytes: MAX_LOGIN_FRAME_BYTES });
      } catch (error) {
        if (!(error instanceof WireError)) throw error;
        badFrames++;
        warnPeer(to, "bad_frame", { code: error.code, frames: frames.length, total: badFrames });
        pushEvent(to, { type: "error", code: error.code, message: error.message });
        return 1;
      }
      if (!verified) {
        refuseChosenId(outbox, warnPeer, to, messages);
        return messages.length;
      }
      if (session) session.lastSeen = now();
      for (const message of messages) requests.handleOne(to, message);
      return messages.length;
    },

    /**
     * A connection started or ended (the transport's notice): whatever session its id held ends now,
     * so a later connection that chooses the same id finds nothing, and a login still being checked
     * for the connection that ended is dropped when it completes.
     */
    connectionChanged(to: Recipient): void {
      if (requests.loggingIn(to.id)) cancelled.add(to.id);
      warnedAt.delete(to.id);
      endings.endSession(to.id, "disconnected");
    },

    /** A send to a peer failed: a peer that is gone loses its session, a full one lags. */
    sendFailed(to: Recipient, failure: SendFailure, body: string, code?: string): void {
      if (failure === "gone") return endings.endSession(to.id, "unreachable");
      const session = sessions.get(to.id);
      if (failure === "full" && session) return queueFull(deps, endings, session, body);
      log.debug("send_failed", { peer: hex(to.peer), code });
    },

    /** A peer asked for more in one turn than the outbox holds for it: its session ends. */
    overBudget(to: Recipient): void {
      const session = sessions.get(to.id);
      if (!session) return;
      endings.byeSession(
        session,
        "too_slow",
        "Session ended: it asked for more than the server queues for one session",
        "over_budget",
      );
    },

    sweep: endings.sweep,
    retryLagging: endings.retryLagging,
    kick: endings.kick,
    endAccount: endings.endAccount,
    endAll: endings.endAll,

    /**
     * The server is stopping: every session ends with `server_shutdown` and no login is admitted
     * from now on, so no client logs back in to a server about to go. Returns how many ended.
     */
    shutdown(message: string): number {
      shuttingDown = true;
      return endings.endAll("server_shutdown", message, "shutdown");
    },
  };
}

/**
 * A peer that chose its own routing id gets an error for each request and nothing else: only ids
 * libzmq makes, from a counter seeded at random, are known to belong to one connection.
 */
function refuseChosenId(
  outbox: BrokerDeps["outbox"],
  warnPeer: (to: Recipient, event: string, fields: Record<string, unknown>) => void,
  to: Recipient,
  messages: unknown[],
): void {
  warnPeer(to, "routing_id_refused", { requests: messages.length });
  const message = "Cannot serve this connection: it chose its own ZeroMQ routing id; " +
    "connect without setting ZMQ_ROUTING_ID";
  for (const raw of messages) {
    const id = parseRequest(raw).id;
    if (id === undefined) {
      outbox.push(to, JSON.stringify({ type: "error", code: "routing_id_refused", message }));
    } else outbox.push(to, encodeReply(id, { ok: false, code: "routing_id_refused", message }));
  }
}

/**
 * A session's queue refused a frame: the replies it held are kept (up to PENDING_REPLY_CHARS) and
 * sent again with the next catch-up offer, and the session lags from the frame's first message.
 */
function queueFull(deps: BrokerDeps, endings: Endings, session: Session, body: string): void {
  if (body.includes('{"re":')) {
    // A session that lets more replies pile up than PENDING_REPLY_CHARS ends (too_slow).
    const pending = session.pendingReplies ?? { parts: [], chars: 0 };
    for (const reply of repliesIn(body)) {
      pending.parts.push(reply);
      pending.chars += reply.length;
    }
    if (pending.chars > PENDING_REPLY_CHARS) {
      session.pendingReplies = undefined;
      return endings.byeSession(
        session,
        "too_slow",
        "Session ended: it did not read its replies",
        "too_slow",
      );
    }
    session.pendingReplies = pending;
  }
  // The first message of the lost frame is where it resumes; a frame without chat messages
  // (presence, replies): nothing is missed up to now.
  deps.chat.lagged(session, firstMissed(body) ?? deps.store.lastMessageId + 1);
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

/**
 * Characters of replies kept for a session whose queue is full: a client reading slowly gets its
 * answers late but whole; one that does not read is ended before it holds more than this.
 */
const PENDING_REPLY_CHARS = 1024 * 1024;

/** The replies a lost frame's body carried, each encoded again on its own. */
function repliesIn(body: string): string[] {
  try {
    const items = JSON.parse(body) as unknown[];
    return items.filter((item) => typeof item === "object" && item !== null && "re" in item)
      .map((item) => JSON.stringify(item));
  } catch {
    return [];
  }
}
