// A turn of the serving thread: the requests of one burst, then one commit, then one send per peer.
// Nothing is acknowledged before it is committed: a failed commit drops the turn's replies.

import type { Logger } from "../log.ts";
import type { Outbox, SendFrames } from "./outbox.ts";
import type { Recipient, SendFailure, TransportEvents } from "./peer_transport.ts";
import { encodeReply } from "./reply.ts";
import type { Store } from "./store/store.ts";

/**
 * Requests after which a turn commits and sends what it has, even with more frames waiting. Senders
 * get their acknowledgements, and send more, while the rest of a backlog is handled.
 */
const TURN_REQUESTS = 1024;
/**
 * Characters queued for peers after which a turn commits and sends, even with more frames waiting:
 * what many sessions ask for in one turn is handed to libzmq, whose per-peer queue bounds it, before
 * more is made.
 */
const TURN_CHARS = 16 * 1024 * 1024;

/** The reply to a request whose turn could not be stored. */
function storageFailed(id: number): string {
  return encodeReply(id, {
    ok: false,
    code: "storage_failed",
    message: "Cannot do this now: the server could not store it (disk full?); nothing was done",
  });
}

/** What a turn's end commits and sends. */
export interface TurnParts {
  store: Store;
  outbox: Outbox;
  /** Told when a commit failed: what it remembered of the turn is void. */
  commitFailed(): void;
  /** Told when a commit succeeded, before the replies go out (a cluster node publishes the turn). */
  committed?(): void;
  /** Where the outbox's frames go: the transport. */
  send: SendFrames;
}

/** What the turns hand requests to. */
export interface TurnHandler {
  handle(from: Recipient, frames: Uint8Array[], verified: boolean): number;
  connectionChanged(peer: Recipient): void;
  /** A peer asked for more in one turn than the outbox holds for it (`Outbox.takeOverBudget`). */
  overBudget(peer: Recipient): void;
  sendFailed(to: Recipient, failure: SendFailure, body: string, code?: string): void;
}

/** Runs turns: the transport's events in, a commit and a send at each turn's end. */
export interface Turns {
  /** Something was queued outside a receive turn (a timer, an async reply): flush soon. */
  requestFlush(): void;
  /** Commits, then sends what is queued; on a failed commit rolls back and drops the replies. */
  flush(): void;
  /** The transport events that feed `handler` and end turns. */
  events(handler: TurnHandler): TransportEvents;
  /** Sets what flushes commit and send; flushes before this do nothing. */
  attach(parts: TurnParts): void;
}

/** Creates the turn machinery; `attach` it once the store, outbox and transport exist. */
export function createTurns(log: Logger): Turns {
  let handler: TurnHandler | undefined;
  let inTurn = false;
  let requests = 0;
  let flushQueued = false;
  let parts: TurnParts | undefined;

  function flush(): void {
    flushQueued = false;
    if (!parts) return;
    try {
      parts.store.commit();
    } catch (error) {
      // Nothing that was not stored may be acknowledged: this turn's events are dropped and each
      // of its replies becomes `storage_failed` (the full-disk case in docs/REPORT.md).
      log.error("commit_failed", { error: (error as Error).message });
      parts.store.rollback();
      try {
        parts.commitFailed();
      } catch (failure) {
        // Reading the store back failed too (the database is away): the replies must still fail.
        log.error("commit_failed_recovery", { error: (failure as Error).message });
      }
      parts.outbox.failReplies(storageFailed);
      parts.outbox.drain(parts.send);
      return;
    }
    parts.committed?.();
    for (const peer of parts.outbox.takeOverBudget()) handler?.overBudget(peer);
    parts.outbox.drain(parts.send);
  }

  return {
    requestFlush() {
      if (inTurn || flushQueued) return;
      flushQueued = true;
      queueMicrotask(flush);
    },
    flush,
    attach(p) {
      parts = p;
    },
    events(h) {
      handler = h;
      return {
        received(from, frames, verified) {
          inTurn = true;
          requests += h.handle(from, frames, verified);
          return requests >= TURN_REQUESTS || (parts?.outbox.chars ?? 0) >= TURN_CHARS;
        },
        connectionChanged(peer) {
          inTurn = true;
          h.connectionChanged(peer);
          return ++requests >= TURN_REQUESTS;
        },
        drained() {
          flush();
          inTurn = false;
          requests = 0;
        },
        sendFailed: (to, failure, body, code) => h.sendFailed(to, failure, body, code),
        handlerError(error) {
          inTurn = false;
          log.error("handler_error", {
            error: error instanceof Error ? error.stack ?? error.message : String(error),
          });
        },
      };
    },
  };
}
