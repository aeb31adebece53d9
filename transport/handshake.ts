// Why a ZeroMQ connection's security handshake failed, read from the socket's monitor events, so a
// client can say "the server encrypts and you do not" at once instead of timing out.

import type { Socket } from "zeromq";

/**
 * A failed handshake: `mechanism_mismatch` when one side speaks CURVE and the other plaintext (the
 * ZMTP greetings name different mechanisms); `curve_refused` when the server hung up during the
 * handshake again and again: to a CURVE client, what a wrong server key looks like; to a plaintext
 * client, what a CURVE server that read its greeting first does.
 */
export type HandshakeFailure = "mechanism_mismatch" | "curve_refused";

/**
 * Hang-ups during the handshake, with no mechanism mismatch among them, before the server counts
 * as refusing our CURVE key: about 300 ms at the clients' 100 ms re-dial interval.
 */
const HANG_UPS_BEFORE_REFUSED = 3;

/** What the dials so far reached: a TCP connection, a finished handshake, refused dials. */
export interface DialProgress {
  /** A TCP connection was made at least once (`connect`). */
  connected: boolean;
  /** A ZMTP handshake finished at least once: the server admitted the connection. */
  admitted: boolean;
  /** Dials that found nothing listening (`connect:retry` with no connection yet). */
  refusedDials: number;
  /** When the last TCP connection was made (ms since the epoch), 0 before the first. */
  connectedAt: number;
}

/** Watches a socket's handshakes until stopped. */
export interface HandshakeWatch {
  /** Resolves with the first failure seen; never, when none happens before `stop()`. */
  readonly failed: Promise<HandshakeFailure>;
  /**
   * How far the dials got. A connection made but never admitted is what a paused server looks
   * like (its ZAP handler answers 300 and libzmq waits); nothing listening shows as refused dials.
   */
  readonly progress: DialProgress;
  /** Stops reporting; the socket's event observer ends when the socket closes. */
  stop(): void;
}

/**
 * Starts watching `socket`'s events for a failed security handshake. The caller stops the watch
 * once the connection works (a login answered) or the socket is closed. `onDisconnect`, when
 * given, hears of every established connection that drops, until the socket closes.
 *
 * @example
 * ```ts
 * import { Dealer } from "zeromq";
 * import { watchHandshake } from "./handshake.ts";
 * const socket = new Dealer();
 * const watch = watchHandshake(socket);
 * socket.connect("tcp://127.0.0.1:5555");
 * watch.failed.then((why) => console.error(`handshake failed: ${why}`));
 * ```
 */
export function watchHandshake(
  socket: Socket,
  onDisconnect?: (address: string) => void,
): HandshakeWatch {
  const failed = Promise.withResolvers<HandshakeFailure>();
  const events = socket.events;
  let stopped = false;
  let hangUps = 0;
  const progress: DialProgress = {
    connected: false,
    admitted: false,
    refusedDials: 0,
    connectedAt: 0,
  };
  (async () => {
    while (!events.closed) {
      const event = await events.receive();
      if (event.type === "end") return;
      // Reported after stop() too: the connection's whole life, not only its handshake.
      if (event.type === "disconnect") onDisconnect?.(event.address);
      if (stopped) continue;
      if (event.type === "connect") {
        progress.connected = true;
        progress.connectedAt = Date.now();
      } else if (event.type === "handshake") progress.admitted = true;
      else if (event.type === "connect:retry" && !progress.connected) progress.refusedDials++;
      if (
        event.type === "handshake:error:protocol" &&
        event.error.code === "ERR_ZMTP_MECHANISM_MISMATCH"
      ) {
        failed.resolve("mechanism_mismatch");
      } else if (
        event.type === "handshake:error:other" || event.type === "handshake:error:protocol"
      ) {
        // A plaintext server may hang up before its greeting reaches us, which looks the same
        // once; libzmq re-dials at once, and a mismatch shows on one of the next tries.
        if (++hangUps >= HANG_UPS_BEFORE_REFUSED) failed.resolve("curve_refused");
      }
    }
  })().catch(() => {
    // The observer ends with an error when its socket closes: nothing more to watch.
  });
  return {
    failed: failed.promise,
    progress,
    stop() {
      // The observer stays open until its socket closes: closing it while a receive() waits broke
      // every later socket of the process under Deno (logins went unanswered).
      stopped = true;
    },
  };
}
