// How sessions end: logout, a lost connection, silence, lagging too long, the operator, shutdown.
// Each ending tells the session why (a `bye`) when it can still hear, and others see it go offline.

import { type ErrorCode, nameKey } from "../../../protocol/mod.ts";
import type { Session } from "../sessions.ts";
import type { BrokerDeps } from "./deps.ts";
import { hex } from "./login.ts";

/** The ways a session ends. */
export interface Endings {
  /** Forgets a session by its peer id; others see the account go offline when it was its last. */
  endSession(peerKey: string, reason: string): void;
  /** Tells a session it is over (a `bye` with `code` and `message`), then forgets it. */
  byeSession(session: Session, code: ErrorCode, message: string, reason: string): void;
  /** Ends sessions silent past the timeout; forgets old throttle and rate-limit entries. */
  sweep(): void;
  /** Sends catch-up to lagging sessions; ends those lagging for longer than `limitMs`. */
  retryLagging(limitMs: number): void;
  /** Ends every session of a login; returns how many there were. */
  kick(login: string, reason: string): number;
  /** Ends every session of an account (by key) with a `bye`; returns how many there were. */
  endAccount(account: string, code: ErrorCode, message: string, reason: string): number;
  /** Ends every session with a code; returns how many there were. */
  endAll(code: ErrorCode, message: string, reason: string): number;
  /**
   * The bye the server ended this connection's session with, until it logs in again, out, or
   * goes: a bye queued behind a full queue is dropped, so a ping's reply repeats it.
   */
  byeOf(peerKey: string): { code: ErrorCode; message: string } | undefined;
}

/**
 * Connections whose session ended with a bye, remembered for their next ping; the oldest are
 * forgotten first. Each entry is a few dozen bytes; a mass kick of more just loses the oldest.
 */
const MAX_ENDED_REMEMBERED = 10_000;

/** Builds the session endings over the session table and the chat services. */
export function createEndings(deps: BrokerDeps): Endings {
  const { chat, sessions, outbox, log, now } = deps;
  const ended = new Map<string, { code: ErrorCode; message: string }>();

  function endSession(peerKey: string, reason: string): void {
    ended.delete(peerKey); // a logout, say: no bye to repeat
    const removed = sessions.remove(peerKey);
    if (!removed) return;
    deps.sessionCount?.ended(removed.session);
    chat.sessionEnded(removed.session, removed.last, reason);
    if (removed.last) deps.store.touchAccount(removed.session.account, now());
    log.info("logout", {
      login: removed.session.login,
      session: hex(removed.session.peer),
      reason,
    });
  }

  /** Tells a session it is over, then forgets it. */
  function byeSession(session: Session, code: ErrorCode, message: string, reason: string): void {
    outbox.push(session, JSON.stringify({ type: "bye", code, message }));
    endSession(session.id, reason);
    if (ended.size >= MAX_ENDED_REMEMBERED) ended.delete(ended.keys().next().value!);
    ended.set(session.id, { code, message });
  }

  function endAccount(account: string, code: ErrorCode, message: string, reason: string): number {
    const list = [...sessions.of(account)];
    for (const session of list) byeSession(session, code, message, reason);
    return list.length;
  }

  return {
    endSession,
    byeSession,
    byeOf: (peerKey) => ended.get(peerKey),

    sweep() {
      for (const session of sessions.idleSince(now() - deps.sessionTimeoutMs)) {
        byeSession(
          session,
          "timed_out",
          "Session timed out: the server heard nothing from it",
          "timeout",
        );
      }
      deps.throttle.prune(now());
      deps.addressThrottle.prune(now());
      deps.registrationLimit.prune(now());
      deps.commandLimit.prune(now());
    },

    retryLagging(limitMs) {
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

    kick(login, reason) {
      return endAccount(
        nameKey(login),
        "kicked",
        reason ? `Kicked by the operator: ${reason}` : "Kicked by the operator",
        "kicked",
      );
    },

    endAccount,

    endAll(code, message, reason) {
      const list = [...sessions.all()];
      for (const session of list) byeSession(session, code, message, reason);
      return list.length;
    },
  };
}
