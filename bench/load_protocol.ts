// What the benchmark orchestrator and its load generators say to each other: commands and reports.
// One JSON object per line on a load process's stdin and stdout; its workers get the same objects.

/** Every chat text is this many bytes (ASCII), the size issue #5 specifies. */
export const TEXT_BYTES = 100;

/** Which server the load speaks to: chatz itself, or the bare forwarding router of the baseline. */
export type Dialect = "chatz" | "baseline";

/**
 * What a peer does: `sender` streams as fast as its window allows, `pacer` sends at a fixed rate
 * with a timestamp in every text, `receiver` counts what arrives (and measures latency when
 * `latency` is set), `idle` only keeps its session, `history` runs timed `/history` round trips.
 */
export type Role = "sender" | "pacer" | "receiver" | "idle" | "history";

/** Where a sender's messages go. */
export type Target =
  | { kind: "direct"; to: string }
  | { kind: "group"; group: string; members: string[] };

/** One simulated client: a DEALER socket with its own socket loop. */
export interface PeerSpec {
  /** The chatz login, which is also the baseline routing id. */
  name: string;
  role: Role;
  /** chatz: the password of a first login (which registers the account). */
  password?: string;
  /** chatz: a session token from an earlier login, used instead of the password. */
  token?: string;
  target?: Target;
  /** Baseline receivers: the sender to return credit to. */
  from?: string;
  /** Receivers: read each text's send timestamp and record the delivery latency. */
  latency?: boolean;
  /**
   * chatz senders: give every message a client message id (`cid`), as the bundled client does
   * (`<8 hex>-<n>`), so the server's duplicate suppression runs on each.
   */
  cid?: boolean;
  /** chatz: commands run once after login, in order, each of which must succeed. */
  commands?: { cmd: string; args: string }[];
}

/** Settings shared by every peer of a load process. */
export interface LoadSettings {
  endpoint: string;
  dialect: Dialect;
  /** Most messages a sender has unacknowledged (chatz) or undelivered (baseline). */
  window: number;
  /** Most messages per frame. */
  batch: number;
  /** Deadline of the first login. */
  loginTimeoutMs: number;
  /** chatz: the server's CURVE public key; unset for a `--no-curve` server and the baseline. */
  serverKey?: string;
}

/** A command to a load process; it answers each with the reports of all its peers. */
export type LoadCommand =
  | { op: "setup"; settings: LoadSettings; peers: PeerSpec[] }
  | {
    op: "register";
    settings: LoadSettings;
    /** Logins to register with `password`, `concurrency` at a time; each socket closes after. */
    names: string[];
    password: string;
    concurrency: number;
  }
  | {
    op: "run";
    /** CLOCK_MONOTONIC ns (clock.ts), decimal: sending starts, counting starts, both end. */
    startNs: string;
    windowStartNs: string;
    windowEndNs: string;
    /** Pacers: messages per second. */
    rate?: number;
    /** How long to wait after the end for every sent message to be acknowledged. */
    settleMs: number;
  }
  | { op: "expect"; counts: Record<string, number>; timeoutMs: number }
  | { op: "history"; args: string; warmup: number; count: number; timeoutMs: number }
  | { op: "awaitLogins"; logins: number; timeoutMs: number }
  | { op: "restarted" }
  | { op: "close" };

/** Counts over the measured window of a run. */
export interface WindowCounts {
  sent: number;
  acked: number;
  received: number;
  /** Length of the window as this peer measured it. */
  ns: number;
  /** How late its two edges were taken, together: a sign of a starved event loop. */
  lateMs: number;
}

/** What one peer reports after a command. Counts are since the start of the last `run`. */
export interface PeerReport {
  name: string;
  role: Role;
  /** Successful logins so far (a restart makes it 2). */
  logins: number;
  /** CLOCK_MONOTONIC ns (decimal string) of the first and the latest successful login reply. */
  firstLoginNs?: string;
  lastLoginNs?: string;
  token?: string;
  sent: number;
  /** Sends acknowledged as stored (chatz) or credited as delivered (baseline). */
  acked: number;
  /** Sends refused by the server (chatz `ok:false`) or queued for an offline recipient. */
  failed: number;
  /** Chat messages received. */
  received: number;
  window?: WindowCounts;
  /** Receivers with `latency`: one sample per message sent inside the window, in microseconds. */
  latencyUs?: number[];
  /** History peers: round-trip times in microseconds. */
  rttUs?: number[];
  /** Messages a pacer could not offer because its window was full. */
  skipped: number;
  /** Disconnect-and-connect retries of a login that could not be sent, and resent logins. */
  redials: number;
  resends: number;
  /** Sessions found gone because the connection dropped without a `bye`. */
  drops: number;
  /** Sessions that noticed no restart and logged in again when told (`restarted`). */
  told: number;
  /** Resent logins whose first copy had arrived after all (answered `already_logged_in`). */
  duplicateLogins: number;
  /** Sends the socket refused, by error code: the message is dropped (transport/socket_loop.ts). */
  sendErrors: Record<string, number>;
  /** `presence` events received. */
  presence: number;
  /** `bye` events received, by code. */
  byes: Record<string, number>;
  /** Problems worth reading: refused requests, mismatches, timeouts (first few only). */
  errors: string[];
}

/** A load process's answer to one command. */
export type LoadAnswer =
  | { id: number; ok: true; peers: PeerReport[] }
  | { id: number; ok: false; error: string };

/** A command with the id its answer carries. */
export interface LoadRequest {
  id: number;
  command: LoadCommand;
}
