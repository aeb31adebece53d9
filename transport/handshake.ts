// Why a ZeroMQ connection's security handshake failed, read from the socket's monitor events, so a
// client can say "the server encrypts and you do not" at once instead of timing out.

import type { Socket } from "zeromq";

/**
 * A failed handshake: `mechanism_mismatch` when one side speaks CURVE and the other plaintext (the
 * ZMTP greetings name different mechanisms); `curve_refused` when the server hung up during the
 * handshake again and again while its greeting names our mechanism: to a CURVE client, what a
 * wrong server key (or a paused server) looks like. A hang-up can hide a mismatch (a reset discards
 * the server's greeting), so after a few the watch reads the greeting itself (`probeMechanism`).
 */
export type HandshakeFailure = "mechanism_mismatch" | "curve_refused";

/**
 * Hang-ups during the handshake, with no mechanism mismatch among them, before the server counts
 * as refusing our CURVE key: about 300 ms at the clients' 100 ms re-dial interval.
 */
const HANG_UPS_BEFORE_REFUSED = 3;

/** How long the greeting probe waits for the server's greeting: libzmq sends it at once. */
const PROBE_TIMEOUT_MS = 2000;

/**
 * The start of a ZMTP 3 greeting (RFC 23): the signature (0xFF, eight length bytes, 0x7F) and
 * major version 3. A libzmq peer answers it with its whole 64-byte greeting, mechanism included,
 * and waits for the rest of ours until its handshake interval ends.
 */
const GREETING_START = new Uint8Array([0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3]);
/** Where the mechanism name lies in a ZMTP 3 greeting, NUL-padded. */
const MECHANISM_AT = 12;
const MECHANISM_END = 32;

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

/** Where a watch reports. Several sockets in turn (a client link's re-dials) can share one. */
export interface WatchSink {
  readonly failed: PromiseWithResolvers<HandshakeFailure>;
  readonly progress: DialProgress;
}

/** A sink with nothing reported yet. */
export function createWatchSink(): WatchSink {
  return {
    failed: Promise.withResolvers<HandshakeFailure>(),
    progress: { connected: false, admitted: false, refusedDials: 0, connectedAt: 0 },
  };
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
 * given, hears of every established connection that drops, until the socket closes. `sink`, when
 * given, is where the failure and the progress go (shared with the watches of earlier sockets).
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
  sink: WatchSink = createWatchSink(),
): HandshakeWatch {
  const { failed, progress } = sink;
  const events = socket.events;
  let stopped = false;
  let hangUps = 0;
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
        // A plaintext server may hang up before its greeting reaches us (a reset discards it):
        // after a few, ask the server's greeting directly which mechanism it speaks.
        if (++hangUps === HANG_UPS_BEFORE_REFUSED) {
          failed.resolve(hangUpFailure(socket.securityMechanism, event.address));
        }
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

/**
 * What repeated hang-ups mean: a mismatch when the server's own greeting names another mechanism
 * than `ours`, otherwise (or when the probe gets no greeting) a refusal of the CURVE handshake.
 */
async function hangUpFailure(
  ours: Socket["securityMechanism"],
  endpoint: string,
): Promise<HandshakeFailure> {
  const theirs = await probeMechanism(endpoint);
  if (theirs === undefined) return "curve_refused";
  return theirs === (ours ?? "null").toUpperCase() ? "curve_refused" : "mechanism_mismatch";
}

/**
 * The security mechanism a ZeroMQ server at a `tcp://host:port` endpoint speaks ("NULL", "PLAIN",
 * "CURVE"), read from its greeting over a plain TCP connection that is closed before the handshake
 * goes further; `undefined` when the endpoint is not TCP or no greeting came in time.
 *
 * @example
 * ```ts
 * import { probeMechanism } from "./handshake.ts";
 * const mechanism = await probeMechanism("tcp://127.0.0.1:5555");
 * if (mechanism === "NULL") console.error("the server does not encrypt");
 * ```
 */
export async function probeMechanism(endpoint: string): Promise<string | undefined> {
  const target = tcpTarget(endpoint);
  if (!target) return undefined;
  let conn: Deno.TcpConn | undefined;
  const timer = setTimeout(() => conn?.close(), PROBE_TIMEOUT_MS);
  try {
    conn = await Deno.connect(target);
    await conn.write(GREETING_START);
    const greeting = new Uint8Array(MECHANISM_END);
    let got = 0;
    // Bounded: each read adds at least one byte or ends the loop.
    while (got < MECHANISM_END) {
      const n = await conn.read(greeting.subarray(got));
      if (n === null) return undefined;
      got += n;
    }
    if (greeting[0] !== 0xff || greeting[10] < 3) return undefined;
    const name = greeting.subarray(MECHANISM_AT, MECHANISM_END);
    const end = name.indexOf(0);
    return new TextDecoder().decode(end < 0 ? name : name.subarray(0, end));
  } catch {
    return undefined; // refused, reset or closed by the timer: no answer to give
  } finally {
    clearTimeout(timer);
    try {
      conn?.close();
    } catch {
      // already closed by the timer
    }
  }
}

/** Host and port of a `tcp://host:port` endpoint (after any `source;` part), IPv6 in brackets. */
function tcpTarget(endpoint: string): { hostname: string; port: number } | undefined {
  const match = /^tcp:\/\/(?:[^;]*;)?(\[[^\]]+\]|[^:\[\]]+):(\d+)$/.exec(endpoint);
  if (!match) return undefined;
  const port = Number(match[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { hostname: match[1].replace(/^\[|\]$/g, ""), port };
}
