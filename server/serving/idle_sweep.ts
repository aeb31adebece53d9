// Closes chat connections that have received nothing for several session timeouts, or that have not
// carried a logged-in session for the login deadline: either way they hold no session, only memory.

import type { Logger } from "../log.ts";
import { throttledWarning } from "./log_throttle.ts";

/**
 * Session timeouts a connection may stay silent before it is closed. After one, its session (if
 * any) is ended (`timed_out`); the other three leave a client stalled for a moment (a suspended
 * laptop, a long garbage collection, a slow link) time to speak again on the same connection. A
 * client whose connection was closed re-dials and resumes with its token like after a network cut.
 * The login deadline's default is the same span: a person at the password prompt gets a minute.
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

/** An open chat connection (transport/peer_sockets.ts). */
export interface ChatConnection {
  /** Its descriptor. */
  fd: number;
  /** Its peer's network address. */
  address: string;
  /** Its peer's address and port: tells a descriptor number reused by a later connection. */
  peer: string;
  /** Milliseconds since it last received data. */
  idleMs: number;
}

/** Where the sweep finds chat connections and shuts them; the real one is transport/peer_sockets.ts. */
export interface ChatSockets {
  /** The established chat connections; throws when they cannot be listed. */
  list(): ChatConnection[];
  /** Shuts one down if its descriptor still holds it (the same peer); whether it did. */
  shut(connection: ChatConnection): boolean;
}

/** What the sweep works with. Limits are read at each sweep (reloads). */
export interface IdleSweepOptions {
  /** The connections to look at. */
  sockets: ChatSockets;
  /** Milliseconds a connection may receive nothing; 0: never closed for silence. */
  idleLimitMs(): number;
  /** Milliseconds a connection may go without a logged-in session; 0: no deadline. */
  loginDeadlineMs(): number;
  /** Whether the connection with descriptor `fd` carries a logged-in session now. */
  loggedIn(fd: number): boolean;
  /** Where closed connections are told. */
  log: Logger;
  /** Milliseconds, for pacing, deadlines and the log's rate (default `performance.now`). */
  now?: () => number;
}

/** The sweep: `sweep()` closes what is due now and returns how many it closed. */
export interface IdleSweep {
  /** Closes the connections past either limit now (unless a scan was too recent); how many. */
  sweep(): number;
}

/**
 * The sweep. A connection is closed when it has received nothing for the idle limit, or when it
 * has been seen without a logged-in session for the login deadline: counted from the first sweep
 * that saw it so (its opening, or its session's end), so it closes up to one sweep late. Each is
 * logged at warning level (`connection_idle_closed` with idle seconds, `connection_login_deadline`
 * with the seconds it was seen without a session), at most LINES_PER_ADDRESS per address and
 * event; the rest at debug level. When connections cannot be listed (no /proc, no FFI) it says so
 * once and stops sweeping.
 *
 * @example
 * ```ts
 * import { createIdleSweep } from "./idle_sweep.ts";
 * const quiet = { debug() {}, info() {}, warn() {}, error() {} };
 * const connection = { fd: 9, address: "192.0.2.1", peer: "192.0.2.1:5000", idleMs: 70_000 };
 * const sweep = createIdleSweep({
 *   sockets: { list: () => [connection], shut: () => true },
 *   idleLimitMs: () => 60_000,
 *   loginDeadlineMs: () => 60_000,
 *   loggedIn: () => false,
 *   log: quiet,
 * });
 * sweep.sweep(); // 1
 * ```
 */
export function createIdleSweep(options: IdleSweepOptions): IdleSweep {
  const { sockets, log } = options;
  const now = options.now ?? (() => performance.now());
  const idleLines = throttledWarning(log, "connection_idle_closed", LINES_PER_ADDRESS);
  const deadlineLines = throttledWarning(log, "connection_login_deadline", LINES_PER_ADDRESS);
  /** Connections seen without a session, by descriptor: which peer, and since when. */
  let withoutSession = new Map<number, { peer: string; since: number }>();
  let nextScan = -Infinity;
  let failed = false;

  /**
   * How long `connection` has gone without a session when that is past the deadline, else
   * undefined; notes in `seen` since when it has gone without one (now, when first seen so).
   */
  function pastDeadline(
    connection: ChatConnection,
    deadline: number,
    at: number,
    seen: typeof withoutSession,
  ): number | undefined {
    if (options.loggedIn(connection.fd)) return undefined;
    const known = withoutSession.get(connection.fd);
    const since = known?.peer === connection.peer ? known.since : at;
    seen.set(connection.fd, { peer: connection.peer, since });
    return at - since >= deadline ? at - since : undefined;
  }

  return {
    sweep() {
      const idleLimit = options.idleLimitMs();
      const deadline = options.loginDeadlineMs();
      const started = now();
      if (failed || (idleLimit <= 0 && deadline <= 0) || started < nextScan) return 0;
      let connections: ChatConnection[];
      try {
        connections = sockets.list();
      } catch (error) {
        failed = true;
        log.warn("idle_sweep_failed", { error: String(error) });
        return 0;
      }
      const at = now();
      nextScan = started + SCAN_COST_FACTOR * (at - started);
      const seen: typeof withoutSession = new Map();
      let closed = 0;
      for (const connection of connections) {
        const idle = idleLimit > 0 && connection.idleMs >= idleLimit;
        const without = deadline > 0 && !idle
          ? pastDeadline(connection, deadline, at, seen)
          : undefined;
        if (!idle && without === undefined) continue;
        if (!sockets.shut(connection)) continue;
        seen.delete(connection.fd);
        closed++;
        const { address } = connection;
        if (idle) {
          const idleSeconds = Math.floor(connection.idleMs / 1000);
          idleLines.warn(address, { address, idleSeconds }, at);
        } else {
          const seconds = Math.floor(without! / 1000);
          deadlineLines.warn(address, { address, seconds }, at);
        }
      }
      // Descriptors not listed now are closed: a later connection on the number starts afresh.
      withoutSession = seen;
      idleLines.prune(at);
      deadlineLines.prune(at);
      return closed;
    },
  };
}
