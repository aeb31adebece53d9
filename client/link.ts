// The client's seams to the outside: the link to the server (one DEALER socket) and the clock.
// connection.ts speaks only these, so its re-dials, resumes and re-sends are tested with fakes.

import { Dealer } from "zeromq";
import { curveClientOptions } from "../transport/curve.ts";
import { type HandshakeWatch, watchHandshake } from "../transport/handshake.ts";
import { type OutFrames, startSocketLoop } from "../transport/socket_loop.ts";

/** A connection to one server endpoint, as the client uses it. */
export interface ClientLink {
  /** Dials the endpoint; throws when it is not a usable endpoint. */
  connect(): void;
  /**
   * Drops the connection and dials again (a new handshake, a new routing id at the server), to the
   * next endpoint when there are several.
   */
  redial(): void;
  /** Queues one message; it goes out once the link is up. */
  send(frames: OutFrames): void;
  /** Messages queued and not yet handed to a connection. */
  readonly pending: number;
  /** Drops what is queued, for a connection that is being replaced. */
  discardQueued(): void;
  /**
   * Starts watching the security handshake (to tell a key or mechanism mismatch at once).
   * `onDropped` hears when the current endpoint's connection drops, for as long as the link lives,
   * when there are several endpoints (with one, libzmq re-dials it by itself).
   */
  watchHandshake(onDropped?: () => void): HandshakeWatch;
  /** Closes the link; a final message queued just before still gets its linger time. */
  close(): Promise<void>;
  /**
   * The CURVE public key (Z85) the link's socket authenticates with, sent in each login: an
   * encrypted server learns from it which address the connection came from. Undefined in clear.
   */
  readonly publicKey?: string;
}

/** Opens a link: `onFrames` gets every message the server sends. */
export type OpenLink = (onFrames: (frames: Uint8Array[]) => void) => ClientLink;

/** A pending timer, as the clock that set it identifies it. */
export type Timer = ReturnType<typeof setTimeout>;

/** Time as the client reads it and waits on it. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): Timer;
  clearTimeout(timer: Timer | undefined): void;
}

/** The real clock. */
export const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id),
};

/**
 * The real link: a DEALER socket on the first of `endpoints`, moving to the next at each re-dial;
 * encrypted when a server key is given.
 */
export function dealerLink(endpoints: readonly string[], curve?: { serverKey: string }): OpenLink {
  return (onFrames) => {
    const keys = curve ? curveClientOptions(curve.serverKey) : undefined;
    const socket = new Dealer({
      receiveTimeout: 0,
      sendTimeout: 0,
      linger: 1000, // lets a final logout reach the server after close()
      immediate: true, // queue nothing on a connection that is not up: the connect timeout is honest
      reconnectInterval: 100,
      reconnectMaxInterval: 2000,
      ...keys,
    });
    const loop = startSocketLoop(socket, { onMessage: onFrames }, { checkWritable: true });
    let current = 0;
    return {
      connect: () => socket.connect(endpoints[current]),
      redial() {
        socket.disconnect(endpoints[current]);
        current = (current + 1) % endpoints.length;
        socket.connect(endpoints[current]);
      },
      send: (frames) => loop.send(frames),
      get pending() {
        return loop.pending;
      },
      discardQueued: () => loop.discardQueued(),
      watchHandshake: (onDropped) =>
        watchHandshake(socket, (address) => {
          // A drop of the endpoint left behind by a re-dial is not news.
          if (endpoints.length > 1 && address === endpoints[current]) onDropped?.();
        }),
      close: () => loop.close(),
      publicKey: keys?.curvePublicKey,
    };
  };
}
