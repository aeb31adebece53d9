// The client's seams to the outside: the link to the server (one DEALER socket) and the clock.
// connection.ts speaks only these, so its re-dials, resumes and re-sends are tested with fakes.

import { Dealer } from "zeromq";
import { curveClientOptions } from "../transport/curve.ts";
import {
  createWatchSink,
  type HandshakeWatch,
  watchHandshake,
  type WatchSink,
} from "../transport/handshake.ts";
import { type OutFrames, type SocketLoop, startSocketLoop } from "../transport/socket_loop.ts";

/** A connection to one server endpoint, as the client uses it. */
export interface ClientLink {
  /** Dials the endpoint; throws when it is not a usable endpoint. */
  connect(): void;
  /**
   * Drops the connection and dials again (a new handshake, a new routing id at the server), to the
   * next endpoint when there are several. Messages still queued go out on the new connection.
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
 *
 * A re-dial replaces the socket. Disconnecting and connecting one socket is not enough: libzmq
 * ends the old connection's pipe asynchronously, and until it does the socket stays writable
 * through it, so a login sent right after the re-dial went into the connection being dropped and
 * was lost (seen after a server restart, when the old connection had already re-connected).
 */
export function dealerLink(endpoints: readonly string[], curve?: { serverKey: string }): OpenLink {
  return (onFrames) => {
    const keys = curve ? curveClientOptions(curve.serverKey) : undefined;
    const watches: {
      sink: WatchSink;
      onDropped?: () => void;
      current?: HandshakeWatch;
      stopped: boolean;
    }[] = [];
    let current = 0;
    let dial = openDial(keys, onFrames);

    /** Watches `dial`'s socket for every live watch; drops count only on the current socket. */
    const watchDial = (watch: (typeof watches)[number]) => {
      const socket = dial.socket;
      watch.current = watchHandshake(socket, (address) => {
        // A drop of a socket or endpoint left behind by a re-dial is not news.
        if (socket !== dial.socket || address !== endpoints[current]) return;
        if (endpoints.length > 1) watch.onDropped?.();
      }, watch.sink);
      if (watch.stopped) watch.current.stop();
    };

    return {
      connect: () => dial.socket.connect(endpoints[current]),
      redial() {
        const old = dial;
        const unsent = old.loop.takeQueued(); // they go out on the new connection
        old.socket.linger = 0; // what libzmq still holds for the old connection is dropped with it
        void old.loop.close();
        current = (current + 1) % endpoints.length;
        dial = openDial(keys, onFrames);
        for (const watch of watches) watchDial(watch);
        dial.socket.connect(endpoints[current]);
        for (const frames of unsent) dial.loop.send(frames);
      },
      send: (frames) => dial.loop.send(frames),
      get pending() {
        return dial.loop.pending;
      },
      discardQueued: () => void dial.loop.takeQueued(),
      watchHandshake(onDropped) {
        const watch: (typeof watches)[number] = {
          sink: createWatchSink(),
          onDropped,
          stopped: false,
        };
        watches.push(watch);
        watchDial(watch);
        return {
          failed: watch.sink.failed.promise,
          progress: watch.sink.progress,
          stop() {
            // Drops are still reported, on later sockets too (see watchHandshake).
            watch.stopped = true;
            watch.current?.stop();
          },
        };
      },
      close: () => dial.loop.close(),
      publicKey: keys?.curvePublicKey,
    };
  };
}

/** One DEALER socket with its loop: a link's connection until the next re-dial. */
function openDial(
  keys: ReturnType<typeof curveClientOptions> | undefined,
  onFrames: (frames: Uint8Array[]) => void,
): { socket: Dealer; loop: SocketLoop } {
  const socket = new Dealer({
    receiveTimeout: 0,
    sendTimeout: 0,
    linger: 1000, // lets a final logout reach the server after close()
    immediate: true, // queue nothing on a connection that is not up: the connect timeout is honest
    reconnectInterval: 100,
    reconnectMaxInterval: 2000,
    ...keys,
  });
  return {
    socket,
    loop: startSocketLoop(socket, { onMessage: onFrames }, { checkWritable: true }),
  };
}
