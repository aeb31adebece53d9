// Closes chat connections that have received nothing for several session timeouts: a logged-in
// client sends at least once a timeout, so such a connection holds no session, only memory.

import type { Logger } from "../log.ts";
import { throttledWarning } from "./log_throttle.ts";

/**
 * Session timeouts a connection may stay silent before it is closed. After one, its session (if
 * any) is ended (`timed_out`); the other three leave a client stalled for a moment (a suspended
 * laptop, a long garbage collection, a slow link) time to speak again on the same connection. A
 * client whose connection was closed re-dials and resumes with its token like after a network cut.
 */
export const IDLE_SESSION_TIMEOUTS = 4;
/**
 * Sweeps come at most this often; a sweep closes a connection at most this late. Scanning costs
 * 2 to 4 us per open descriptor (measured: 3,000 connections, 6,000 descriptors, 23 ms on a busy
 * machine), so 5,000 connections take 10 to 20 ms: under half a percent of the thread.
 */
export const IDLE_SWEEP_MS = 5000;
/**
 * After a scan the next waits at least this many times what it took, so however many descriptors
 * the process holds, scanning takes at most a twentieth of the thread's time.
 */
const SCAN_COST_FACTOR = 20;
/** Log lines per address: a burst, then one a minute; the ones held back are logged at debug. */
const LINES_PER_ADDRESS = { burst: 10, perSecond: 1 / 60 };

/** A connection found idle (transport/peer_sockets.ts). */
export interface IdleConnection {
  /** Its descriptor. */
  fd: number;
  /** Its peer's network address. */
  address: string;
  /** Milliseconds since it last received data. */
  idleMs: number;
}

/** Where the sweep finds idle connections and shuts them; the real one is transport/peer_sockets.ts. */
export interface IdleSockets {
  /** The connections idle at least `idleMs`; throws when they cannot be listed. */
  idle(idleMs: number): IdleConnection[];
  /** Shuts one down if it is still idle at least `idleMs`; whether it did. */
  shut(connection: IdleConnection, idleMs: number): boolean;
}

/** What the sweep works with. */
export interface IdleSweepOptions {
  /** The connections to look at. */
  sockets: IdleSockets;
  /** Milliseconds a connection may receive nothing; 0: never closed. Read at each sweep (reloads). */
  idleLimitMs(): number;
  /** Where closed connections are told. */
  log: Logger;
  /** Milliseconds, for pacing and for the log's rate (default `performance.now`). */
  now?: () => number;
}

/** The sweep: `sweep()` closes what is idle now and returns how many it closed. */
export interface IdleSweep {
  /** Closes the connections idle past the limit now (unless a scan was too recent); how many. */
  sweep(): number;
}

/**
 * The sweep. Each closed connection is logged at warning level (`connection_idle_closed`, with its
 * address and idle seconds), at most LINES_PER_ADDRESS per address; the rest at debug level.
 * When connections cannot be listed (no /proc, no FFI) it says so once and stops sweeping.
 *
 * @example
 * ```ts
 * import { createIdleSweep } from "./idle_sweep.ts";
 * const quiet = { debug() {}, info() {}, warn() {}, error() {} };
 * const sweep = createIdleSweep({
 *   sockets: { idle: () => [{ fd: 9, address: "192.0.2.1", idleMs: 70_000 }], shut: () => true },
 *   idleLimitMs: () => 60_000,
 *   log: quiet,
 * });
 * sweep.sweep(); // 1
 * ```
 */
export function createIdleSweep(options: IdleSweepOptions): IdleSweep {
  const { sockets, log } = options;
  const now = options.now ?? (() => performance.now());
  const lines = throttledWarning(log, "connection_idle_closed", LINES_PER_ADDRESS);
  let nextScan = -Infinity;
  let failed = false;
  return {
    sweep() {
      const limit = options.idleLimitMs();
      const started = now();
      if (failed || limit <= 0 || started < nextScan) return 0;
      let idle: IdleConnection[];
      try {
        idle = sockets.idle(limit);
      } catch (error) {
        failed = true;
        log.warn("idle_sweep_failed", { error: String(error) });
        return 0;
      }
      nextScan = started + SCAN_COST_FACTOR * (now() - started);
      let closed = 0;
      for (const connection of idle) {
        if (!sockets.shut(connection, limit)) continue;
        closed++;
        logClosed(connection, now());
      }
      lines.prune(now());
      return closed;
    },
  };

  function logClosed(connection: IdleConnection, at: number): void {
    const idleSeconds = Math.floor(connection.idleMs / 1000);
    lines.warn(connection.address, { address: connection.address, idleSeconds }, at);
  }
}
