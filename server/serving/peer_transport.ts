// The transport seam of the serving thread: peers known by an id, messages of frames in and out.
// The broker and the outbox speak only this; router_transport.ts puts the ZeroMQ ROUTER behind it.

import type { OutFrames } from "../../transport/socket_loop.ts";

/**
 * A peer: `id` keys sessions and maps; `peer` is the transport's own address for it (for the
 * ROUTER, the routing id whose bytes `id` spells), opaque to everyone else and shown in logs.
 */
export interface Recipient {
  readonly id: string;
  readonly peer: Uint8Array;
}

/** Why a send failed: the peer is gone, its queue is full, or the transport said something else. */
export type SendFailure = "gone" | "full" | "other";

/** What a transport tells the server, in the order things happened. */
export interface TransportEvents {
  /**
   * A message from a peer, its frames after any addressing. `verified` is false when the transport
   * cannot vouch that `from.id` names this one connection (a ROUTER peer that chose its own id).
   * Returning true ends the turn there: `drained` runs and queued sends go out first.
   */
  received(from: Recipient, frames: Uint8Array[], verified: boolean): boolean | void;
  /** A peer's connection started or ended: whatever was bound to its id ends. Same return. */
  connectionChanged(peer: Recipient): boolean | void;
  /** After a burst of receives, before queued sends go out: the place to commit and flush. */
  drained(): void;
  /** A send failed and its message was dropped; `body` is its last frame as text. */
  sendFailed(to: Recipient, failure: SendFailure, body: string, code?: string): void;
  /** A handler above threw; the transport goes on. */
  handlerError(error: unknown): void;
}

/** What the server sends with. */
export interface PeerTransport {
  /** Where peers reach it (the ROUTER's bound endpoint). */
  readonly endpoint: string;
  /** Queues a message for a peer; it goes out in order. A failure comes back as `sendFailed`. */
  send(to: Recipient, frames: OutFrames): void;
  /** Stops receiving and closes; what was queued is still handed on. */
  close(): Promise<void>;
}
