// Per-peer batching of outgoing messages: everything for one peer in one turn goes out as one frame.
// Messages arrive already encoded, so a fan-out encodes once whatever the number of recipients.

import { joinBatch, MAX_BATCH, PROTOCOL_VERSION } from "../../protocol/wire.ts";
import type { Recipient } from "./peer_transport.ts";

/**
 * Characters of encoded messages per frame before a new frame starts: keeps frames well under the
 * size limit and, with libzmq's queue of `--peer-queue` frames per peer, bounds what one session
 * holds (`DEFAULT_LIMITS` in serve.ts). One message is never split: a reply can be larger.
 */
const MAX_FRAME_CHARS = 256 * 1024;

interface Pending {
  to: Recipient;
  parts: string[];
  chars: number;
}

/** Sends one message (the protocol version and a batch) to a peer through the transport. */
export type SendFrames = (to: Recipient, frames: [string, string]) => void;

/**
 * Characters one peer may have queued in one turn. A peer asking for more (say, a `/history` page a
 * hundred times in one frame) has what is over dropped and is reported by `takeOverBudget`, so the
 * server ends its session instead of holding the lot. A full catch-up (2,000 messages of at most
 * 4,000 characters, trimmed to 4 Mi characters at login) fits.
 */
export const PEER_TURN_CHARS = 8 * 1024 * 1024;

/** Collects encoded messages per peer until `drain`. */
export class Outbox {
  #pending = new Map<string, Pending>();
  #overBudget = new Map<string, Recipient>();
  #chars = 0;

  /** Queues one encoded message for one peer; drops it when the peer is over its turn budget. */
  push(to: Recipient, encoded: string): void {
    const pending = this.#pending.get(to.id);
    if (pending) {
      if (pending.chars + encoded.length > PEER_TURN_CHARS) {
        this.#overBudget.set(to.id, to);
        return;
      }
      pending.parts.push(encoded);
      pending.chars += encoded.length;
    } else {
      this.#pending.set(to.id, { to, parts: [encoded], chars: encoded.length });
    }
    this.#chars += encoded.length;
  }

  /** Characters queued for all peers this turn: the server ends a turn early when it is large. */
  get chars(): number {
    return this.#chars;
  }

  /** Whether a peer went over its turn budget in this turn. */
  isOverBudget(id: string): boolean {
    return this.#overBudget.size > 0 && this.#overBudget.has(id);
  }

  /** The peers that went over their turn budget since the last call; their queues are dropped. */
  takeOverBudget(): Recipient[] {
    const peers = [...this.#overBudget.values()];
    for (const peer of peers) {
      this.#chars -= this.#pending.get(peer.id)?.chars ?? 0;
      this.#pending.delete(peer.id);
    }
    this.#overBudget.clear();
    return peers;
  }

  /**
   * The turn's commit failed: everything queued is dropped, and each reply in it becomes the reply
   * `failed(id)` makes, so every sender hears that nothing was done.
   */
  failReplies(failed: (id: number) => string): void {
    const pending = this.#pending;
    this.discard();
    for (const { to, parts } of pending.values()) {
      for (const part of parts) {
        const id = /^\{"re":(\d+),/.exec(part)?.[1];
        if (id !== undefined) this.push(to, failed(Number(id)));
      }
    }
  }

  /** Forgets everything queued. */
  discard(): void {
    this.#pending = new Map();
    this.#overBudget.clear();
    this.#chars = 0;
  }

  /** Hands every queued message to `send`, one frame per peer (more when a batch is over its caps). */
  drain(send: SendFrames): number {
    let frames = 0;
    const pending = this.#pending;
    this.#pending = new Map();
    this.#chars = 0;
    // Group members get the same encoded events in the same order: join such a body once.
    let lastParts: string[] = [];
    let lastBody = "";
    for (const { to, parts, chars } of pending.values()) {
      if (parts.length <= MAX_BATCH && chars <= MAX_FRAME_CHARS) {
        if (!sameStrings(parts, lastParts)) {
          lastParts = parts;
          lastBody = joinBatch(parts);
        }
        send(to, [PROTOCOL_VERSION, lastBody]);
        frames++;
        continue;
      }
      let start = 0;
      let size = 0;
      for (let i = 0; i < parts.length; i++) {
        if (i > start && (i - start === MAX_BATCH || size + parts[i].length > MAX_FRAME_CHARS)) {
          send(to, [PROTOCOL_VERSION, joinBatch(parts.slice(start, i))]);
          frames++;
          start = i;
          size = 0;
        }
        size += parts[i].length;
      }
      send(to, [PROTOCOL_VERSION, joinBatch(parts.slice(start))]);
      frames++;
    }
    return frames;
  }
}

/** True when both lists hold the very same string objects: a cheap check, no characters compared. */
function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return false;
  }
  return true;
}
