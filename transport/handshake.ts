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
  const greeting = await probeGreeting(endpoint);
  return greeting.kind === "mechanism" ? greeting.mechanism : undefined;
}

/**
 * What a greeting probe found: the server's mechanism; `refused` when nothing listens there (the
 * TCP connection was refused); `none` when the endpoint is not TCP, or no greeting came in time.
 */
export type GreetingProbe =
  | { kind: "mechanism"; mechanism: string }
  | { kind: "refused" }
  | { kind: "none" };

/**
 * Reads a ZeroMQ server's greeting as `probeMechanism` does, telling apart a port nothing listens
 * on: a client that has to ask a key endpoint first can name a closed port or a plaintext server
 * at once instead of waiting for a key endpoint that will never answer.
 *
 * @example
 * ```ts
 * import { probeGreeting } from "./handshake.ts";
 * const found = await probeGreeting("tcp://127.0.0.1:5555");
 * if (found.kind === "refused") console.error("nothing is listening there");
 * ```
 */
export async function probeGreeting(endpoint: string): Promise<GreetingProbe> {
  const target = tcpTarget(endpoint);
  if (!target) return { kind: "none" };
  let conn: Deno.TcpConn | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  // One deadline for the whole probe: a dial into a silent network can take the system's minutes.
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => {
      conn?.close();
      resolve("late");
    }, PROBE_TIMEOUT_MS);
  });
  const dialling = Deno.connect(target);
  try {
    const dialled = await Promise.race([
      dialling.then((tcp) => ({ tcp }), (error: unknown) => ({ error })),
      late,
    ]);
    if (dialled === "late") {
      dialling.then((tcp) => tcp.close(), () => {});
      return { kind: "none" };
    }
    if ("error" in dialled) {
      const refused = dialled.error instanceof Deno.errors.ConnectionRefused;
      return refused ? { kind: "refused" } : { kind: "none" };
    }
    conn = dialled.tcp;
    await conn.write(GREETING_START);
    const greeting = new Uint8Array(MECHANISM_END);
    let got = 0;
    // Bounded: each read adds at least one byte or ends the loop (the deadline closes conn).
    while (got < MECHANISM_END) {
      const n = await conn.read(greeting.subarray(got));
      if (n === null) return { kind: "none" };
      got += n;
    }
    if (greeting[0] !== 0xff || greeting[10] < 3) return { kind: "none" };
    const name = greeting.subarray(MECHANISM_AT, MECHANISM_END);
    const end = name.indexOf(0);
    const mechanism = new TextDecoder().decode(end < 0 ? name : name.subarray(0, end));
    return { kind: "mechanism", mechanism };
  } catch {
    return { kind: "none" }; // reset, or closed at the deadline: no answer to give
  } finally {
    clearTimeout(timer);
    try {
      conn?.close();
    } catch {
      // already closed at the deadline
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
