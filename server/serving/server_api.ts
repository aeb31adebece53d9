// What a running chatz server is, as its starter and the operator see it: the options and limits it
// takes, the live settings a reload may change, its status and its commands. No code but defaults.

import type { Logger } from "../log.ts";
import type { Registration } from "./broker.ts";
import type { OperatorServices } from "./operator_services.ts";
import type { LoadReport, PluginSource } from "./plugin_loader.ts";
import { DEFAULT_HANDLER_TIMEOUT_MS } from "./registry.ts";
import type { SyncMode } from "./store/sqlite.ts";
import type { Retention } from "./store/store.ts";

/** The limits that protect the server and its users from one abusive or stuck client. */
export interface ServerLimits {
  /** Commands per second per account after the burst (0: no flood limit). */
  commandsPerSecond: number;
  /** Commands an account may send at once before the rate applies. */
  commandBurst: number;
  maxGroupsPerUser: number;
  maxSessionsPerAccount: number;
  /** Direct messages kept for one offline account; past it sends to it fail (`mailbox_full`). */
  maxWaitingPerAccount: number;
  /** A session the server hears nothing from for this long is ended (`timed_out`). */
  sessionTimeoutMs: number;
  /** A session whose queue stays full this long is ended (`too_slow`). */
  lagLimitMs: number;
  /**
   * A chat connection that has not carried a logged-in session for this long is closed (0: never):
   * counted from its opening, or from its session's end (logout, kick). Grows by the oldest wait
   * for a password hash, like the idle limit.
   */
  loginDeadlineMs: number;
  /** New connections per minute from one network address (0: no limit). */
  connectsPerMinute: number;
  /** Open connections one network address may hold; a handshake past it is refused (0: no limit). */
  connectionsPerAddress: number;
  /**
   * Accounts one network address may register per minute, all at once if it likes (0: no limit).
   */
  registrationsPerMinute: number;
  /** Frames libzmq queues per peer before sends to it fail and the session counts as lagging. */
  peerQueueFrames: number;
  /**
   * A plugin's async command handler not settled after this long answers `plugin_failed`; a setup
   * not settled after this long is skipped.
   */
  pluginTimeoutMs: number;
}

/** Defaults sized for people and ordinary bots; benchmarks lift the flood limit. */
export const DEFAULT_LIMITS: ServerLimits = {
  commandsPerSecond: 50,
  commandBurst: 200,
  maxGroupsPerUser: 100,
  maxSessionsPerAccount: 16,
  // Weeks of a busy person's direct messages, at most about 45 MB on disk for one account (4 KiB
  // texts), while a login still takes them 500 at a time (catchup.ts): a flood to one offline
  // account is refused to its senders instead of growing the store without end.
  maxWaitingPerAccount: 10_000,
  sessionTimeoutMs: 15_000,
  lagLimitMs: 60_000,
  // As long as a silent connection lasts (4 default session timeouts): a minute at the password
  // prompt; the bundled client then re-dials by itself.
  loginDeadlineMs: 60_000,
  connectsPerMinute: 600,
  // A large office behind one NAT address, each person with a client or two; an address holding
  // that many idle connections costs about 10 MiB (39 KiB each) and 256 descriptors, not all of them.
  connectionsPerAddress: 256,
  // A handful: a family or a classroom behind one address registers a few at once; a script
  // filling the store with accounts gets 5 a minute. A school's first lesson may need more.
  registrationsPerMinute: 5,
  // Frames batch a turn's events up to 256 Ki characters (outbox.ts) and the largest reply, a
  // `/history` page, holds 512 Ki characters of text: about 10 MB per session at most.
  peerQueueFrames: 16,
  pluginTimeoutMs: DEFAULT_HANDLER_TIMEOUT_MS,
};

/** Everything `startServer` needs. */
export interface ServerOptions {
  limits: ServerLimits;
  bind: string;
  dataDir: string;
  /** Plugins built into the server, set up before the drop-in folder. */
  builtins: readonly PluginSource[];
  pluginsDir?: string;
  /** Options by plugin name (`ctx.options`), from the server's configuration. */
  pluginOptions?: Record<string, Record<string, string>>;
  registration: Registration;
  sync: SyncMode;
  /** Cluster mode: the PostgreSQL database every node shares, instead of SQLite in `dataDir`. */
  store?: string;
  /** Cluster mode: the NATS server(s) the nodes relay deliveries and presence over. */
  bus?: string;
  retention: Retention;
  version: string;
  log: Logger;
  /** Encrypt the chat endpoint with CURVE, as the server with this secret key (Z85). */
  curve?: { secretKey: string };
  /** Keep Prometheus metrics (`--metrics-bind`); `RunningServer.metrics` renders them. */
  metrics?: boolean;
  /** Days a deleted account's login stays reserved (default DEFAULT_RESERVE_DAYS). */
  deletedLoginDays?: number;
}

/** What a reloaded configuration may change while the server runs. */
export interface LiveSettings {
  /** Every limit but `peerQueueFrames`, which libzmq fixes per connection when it opens. */
  limits: ServerLimits;
  registration: Registration;
  retention: Retention;
}

/** The operator's view of a running server. */
export interface ServerStatus {
  endpoint: string;
  listening: boolean;
  startedAt: number;
  uptimeMs: number;
  /** Handshakes refused while paused. */
  refusedWhilePaused: number;
  usersOnline: number;
  sessions: number;
  groups: number;
  accounts: number;
  messagesStored: number;
  messagesRelayed: number;
  deliveries: number;
  /** Chat messages per second, averaged over the last minute. */
  messagesPerSecond: number;
  memoryRss: number;
  heapUsed: number;
  /** Cluster mode: this node's name and the other live nodes with their online accounts. */
  cluster?: { node: string; nodes: { node: string; accounts: number; lastSeen: number }[] };
}

/** One session, as the operator's `users` shows it. */
export interface SessionView {
  login: string;
  since: number;
  /** The client machine's name as the client reported it. */
  host: string;
  client: string;
  /**
   * Cluster mode, an account online on another node: that node's name and how many sessions the
   * account has there (host and client are then empty: heartbeats carry only logins and counts).
   */
  node?: string;
  sessions?: number;
}

/** A running server. */
export interface RunningServer {
  /** The endpoint actually bound (with the real port when the bind asked for `*` or 0). */
  readonly endpoint: string;
  readonly plugins: LoadReport;
  status(): ServerStatus;
  users(): SessionView[];
  groups(): { name: string; owner: string; members: number; created: number }[];
  /** Stops admitting new connections; existing sessions go on. */
  pause(): boolean;
  /** Admits new connections again. */
  resume(): boolean;
  /**
   * Cluster mode: asks every other live node to pause (or resume) too; returns how many were
   * asked (0 in embedded mode).
   */
  pauseOthers(paused: boolean): number;
  kick(login: string, reason: string): number;
  broadcast(text: string): void;
  /** Wipes every account; online users are told and logged out. Returns the number of accounts removed. */
  clearIdentities(): number;
  /** Account management, invitations and bans for the operator's commands. */
  readonly operator: OperatorServices;
  /** The Prometheus text exposition, when the server keeps metrics. */
  metrics(): Promise<string | undefined>;
  /** Applies a reloaded configuration; returns the names of the settings that changed. */
  reconfigure(settings: LiveSettings): string[];
  /** Tells every client, sends what is queued, closes the socket and the store. */
  stop(reason?: string): Promise<void>;
}
