// Starts a chatz server: opens the store, loads plugins, binds the ROUTER and runs the broker on it,
// turn by turn (turns.ts); the operator's commands on it are in operator_surface.ts.

import { join } from "node:path";
import { MAX_FRAME_BYTES } from "../../protocol/mod.ts";
import { setBatchSize } from "../../transport/batch_size.ts";
import { CURVE_MESSAGE_OVERHEAD } from "../../transport/curve.ts";
import {
  openContext,
  ZMQ_ROUTER,
  type ZmqContext,
  ZmqOption,
  type ZmqSocket,
} from "../../transport/libzmq.ts";
import { enableConnectionNotices, seedRoutingIdCounter } from "../../transport/routing_ids.ts";
import {
  connectionsOnPort,
  peerAddress,
  peersOnPort,
  shutdownConnection,
  shutdownPeers,
} from "../../transport/peer_sockets.ts";
import { createAddressCap } from "./address_cap.ts";
import {
  createIdleSweep,
  IDLE_SESSION_TIMEOUTS,
  IDLE_SWEEP_MS,
  type IdleSweep,
} from "./idle_sweep.ts";
import { type BrokerDeps, createBroker } from "./broker.ts";
import type { ChatCore } from "./chat.ts";
import { assembleServing } from "./assemble.ts";
import { BanList } from "./bans.ts";
import { DEFAULT_RESERVE_DAYS } from "./deleted_logins.ts";
import { type Gate, openGate, ZAP_DOMAIN } from "./gate.ts";
import { createLoginAccess } from "./login_access.ts";
import { createMetrics, type MetricSources, type ServerMetrics } from "./metrics.ts";
import { createOperatorServices } from "./operator_services.ts";
import type { Logger } from "../log.ts";
import { importPluginDir, type LoadReport, type SetupDeps, setupPlugins } from "./plugin_loader.ts";
import { connectRate, operatorSurface, registrationRate } from "./operator_surface.ts";
import { oldestHashWaitMs, startHashing, stopHashing } from "./passwords.ts";
import { RateWindow } from "./rate_window.ts";
import { type RouterTransport, startRouterTransport } from "./router_transport.ts";
import { createLocalState } from "./local_state.ts";
import type { SessionDirectory } from "./shared_state.ts";
import { openSqliteStore } from "./store/sqlite.ts";
import { openPostgresStore } from "./store/postgres.ts";
import type { Store } from "./store/store.ts";
import { readGroupsOnMiss } from "./cluster/group_reads.ts";
import { watchGroupWrites } from "./cluster/group_writes.ts";
import type { ControlAction, Relay } from "./cluster/relay.ts";
import { type ClusterNode, joinCluster } from "./cluster/node.ts";
import { sharedDuplicates } from "./cluster/duplicates.ts";
import { createTurns, type Turns } from "./turns.ts";

/** How often silent sessions are looked for, at most. */
const SWEEP_INTERVAL_MS = 5000;
/** How often lagging sessions are retried with a catch-up. */
const LAG_RETRY_MS = 1000;
/** How often history past its retention is deleted. */
const PRUNE_INTERVAL_MS = 60_000;
/**
 * Frames libzmq queues per connection before it stops reading that connection's socket (TCP then
 * holds the sender back). With frames of at most 1 MiB this bounds what one connection, logged in
 * or not, holds in the server: 8 MiB. libzmq's default, 1,000, let four connections take 3.6 GB.
 */
const RECEIVE_QUEUE_FRAMES = 8;
/** A connection that has not finished the ZeroMQ handshake by then is closed (libzmq's default: 30 s). */
const HANDSHAKE_MS = 10_000;
/** Time given to libzmq's I/O thread to send the shutdown byes before the process may exit. */
const SHUTDOWN_GRACE_MS = 250;
/** Time libzmq keeps trying to deliver queued messages once the socket closes. */
const LINGER_MS = 2000;
/**
 * libzmq's read and write buffers per connection, 8 KiB each by default. The outbox already puts a
 * turn's messages for a peer into one frame, so larger buffers batch little: at 1 KiB, 2,000 idle
 * sessions take 12 KiB less each (benchmark E) and A and B run as fast.
 */
const CONNECTION_BATCH_BYTES = 1024;

export {
  DEFAULT_LIMITS,
  type LiveSettings,
  type RunningServer,
  type ServerLimits,
  type ServerOptions,
  type ServerStatus,
  type SessionView,
} from "./server_api.ts";
import type { RunningServer, ServerOptions } from "./server_api.ts";

/**
 * Starts the server and resolves once it is bound and serving. Long on purpose: it is the server's
 * wiring, one step per part, each part's release deferred on `acquired` as it is acquired; what a
 * step does is in the functions below and in the modules it calls.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const metrics = options.metrics ? createMetrics() : undefined;
  const log = metrics ? metrics.tap(options.log) : options.log;
  const now = Date.now;
  const startedAt = now();
  // Whatever is acquired is released, in reverse, if a later step throws; on success the server's
  // stop() takes the stack over.
  await using acquired = new AsyncDisposableStack();
  // Started first, awaited before binding: the hashing thread's memory is there from the start.
  const hashing = startHashing();
  acquired.defer(stopHashing);
  const turns = createTurns(log);
  const { store, clusterNode, relay } = await openStorage(options, {
    log,
    now,
    turns,
    metrics,
    acquired,
  });
  const { state, ownDuplicates } = sharedState(options.limits, store, relay);
  const coreOptions = {
    log,
    now,
    maxGroupsPerUser: options.limits.maxGroupsPerUser,
    maxWaitingPerAccount: options.limits.maxWaitingPerAccount,
    cluster: relay,
    state,
  };
  const { sessions, outbox, hooks, registry, throttle, chat, deletedLogins } = assembleServing(
    store,
    coreOptions,
  );
  clusterNode?.attach({
    sessions,
    chat,
    ownDuplicates,
    control: (action) => clusterControl(action, { broker, gate, chat, log }),
  });
  const bans = new BanList(store.bans(now()));
  if (metrics) attachMetrics(metrics, options, { sessions, store, chat, acquired });

  const plugins = await loadPlugins(options, { registry, hooks, chat, store });

  const connectLimit = state.connectLimit;
  // The chat port is known once the ROUTER is bound; no handshake reaches the gate before that.
  let chatPort = 0;
  const { context, gate } = openHandshakes(options.limits, {
    log,
    connectLimit,
    bans,
    chatPort: () => chatPort,
    acquired,
  });

  // What the broker and the operator's services both work with.
  const parts = { registry, chat, sessions, store, outbox, log, now, bans, deletedLogins };
  const brokerDeps = brokerDepsFor(options, {
    ...parts,
    throttle,
    state,
    clusterNode,
    requestFlush: turns.requestFlush,
    gate,
    // Asked at logins, which only arrive once the transport below runs.
    connectionOf: (id) => transport.fdOf(id),
    chatPort: () => chatPort,
  });
  const broker = createBroker(brokerDeps);
  const operator = createOperatorServices({
    ...parts,
    endSessions: (account, code, message, reason) => {
      const ended = broker.endAccount(account, code, message, reason);
      turns.requestFlush();
      return ended;
    },
    reserveMs: () => (options.deletedLoginDays ?? DEFAULT_RESERVE_DAYS) * 86_400_000,
    closeConnections: (matches) => closeConnections(chatPort, matches, log),
  });
  chat.moderation = operator.moderation;
  // Before the ROUTER binds: no login may be answered before "listening", and none waits on it.
  await hashing.catch((error) => log.warn("hashing_warm_up_failed", { error: String(error) }));
  const router = bindRouter(options, context);
  const endpoint = router.lastEndpoint || options.bind;
  chatPort = Number(endpoint.slice(endpoint.lastIndexOf(":") + 1));
  const events = turns.events(broker);
  const transport = startRouterTransport(router, metrics ? metrics.countIn(events) : events);
  acquired.defer(() => transport.close());
  turns.attach({
    store,
    outbox,
    commitFailed() {
      clusterNode?.sessionCount.commitFailed();
      relay?.discard();
      chat.commitFailed(); // reads the groups back: throws while the database is away
    },
    // After the commit: other nodes deliver only what is stored.
    committed: relay?.flush,
    send: metrics ? metrics.countOut(transport.send) : transport.send,
  });

  const rate = new RateWindow();
  const idle = idleSweep(options.limits, { log, transport, sessions, chatPort });
  const timers = startTimers(options, { store, chat, broker, rate, log, now, turns, idle });
  store.prune(options.retention, now());
  turns.flush();
  log.info("listening", { endpoint, version: options.version });

  return runningServer({
    endpoint,
    startedAt,
    now,
    log,
    options,
    store,
    sessions,
    chat,
    gate,
    broker,
    live: { core: coreOptions, broker: brokerDeps, connectLimit },
    rate,
    operator,
    requestFlush: turns.requestFlush,
    flush: turns.flush,
    cluster: relay,
  }, { plugins, metrics, timers, release: acquired.move() });
}

/** Lets the metrics read the sessions, the store and its files, and the deliveries; closed last. */
function attachMetrics(
  metrics: ServerMetrics,
  options: ServerOptions,
  parts: {
    sessions: MetricSources["sessions"];
    store: Store;
    chat: ChatCore;
    acquired: AsyncDisposableStack;
  },
): void {
  const { chat } = parts;
  metrics.attach({
    sessions: parts.sessions,
    store: parts.store,
    storeFiles: options.store
      ? []
      : ["chatz.db", "chatz.db-wal"].map((file) => join(options.dataDir, file)),
    deliveries: () => ({ total: chat.stats.deliveries, byScope: chat.stats.delivered }),
  });
  parts.acquired.defer(() => metrics.close());
}

/**
 * What the broker works with: the serving parts, the limits, and how a login's address is found
 * (the gate's record of its CURVE key, or, without encryption, its connection's peer address).
 */
function brokerDepsFor(
  options: ServerOptions,
  parts:
    & Pick<
      BrokerDeps,
      "registry" | "chat" | "sessions" | "store" | "outbox" | "log" | "now" | "throttle"
    >
    & {
      state: ReturnType<typeof createLocalState>;
      clusterNode: ClusterNode | undefined;
      bans: BanList;
      deletedLogins: Parameters<typeof createLoginAccess>[0]["deletedLogins"];
      requestFlush: () => void;
      gate: Pick<Gate, "addressOf">;
      connectionOf: (id: string) => number | undefined;
      chatPort: () => number;
    },
): BrokerDeps {
  const { state, clusterNode, bans, deletedLogins, store, now, gate, connectionOf, chatPort } =
    parts;
  const { limits } = options;
  return {
    registry: parts.registry,
    chat: parts.chat,
    sessions: parts.sessions,
    store,
    outbox: parts.outbox,
    log: parts.log,
    registration: options.registration,
    version: options.version,
    now,
    requestFlush: parts.requestFlush,
    throttle: parts.throttle,
    addressThrottle: state.addressThrottle,
    registrationLimit: state.registrationLimit,
    ...(options.curve ? { clientAddress: gate.addressOf } : {
      peerAddress: (id: string) => {
        const fd = connectionOf(id);
        return fd === undefined ? undefined : peerAddress(fd, chatPort());
      },
    }),
    commandLimit: state.commandLimit,
    sessionTimeoutMs: limits.sessionTimeoutMs,
    maxSessionsPerAccount: limits.maxSessionsPerAccount,
    sessionCount: clusterNode?.sessionCount,
    handlerTimeoutMs: limits.pluginTimeoutMs,
    access: createLoginAccess({ bans, deletedLogins, store, now }),
  };
}

/**
 * The store (SQLite in the data folder, or PostgreSQL for a cluster node, measured when metrics
 * are on) and, with a bus, the cluster node; each released through `acquired` if startup fails.
 */
async function openStorage(
  options: ServerOptions,
  parts: {
    log: Logger;
    now: () => number;
    turns: Turns;
    metrics: ServerMetrics | undefined;
    acquired: AsyncDisposableStack;
  },
): Promise<{ store: Store; clusterNode: ClusterNode | undefined; relay: Relay | undefined }> {
  const { log, now, turns, metrics, acquired } = parts;
  // Set once the node has joined: a node delivers in id order by the counter's values
  // (cluster/id_order.ts), which the store reports from its first commit on.
  const joinedNode: { relay?: Relay } = {};
  const postgres = options.store
    ? openPostgresStore(options.store, {
      onWrite: turns.requestFlush,
      onIdsLocked: (after) => joinedNode.relay?.idsLocked(after),
      onIdsCommitted: (last) => joinedNode.relay?.idsCommitted(last),
    })
    : undefined;
  const unmeasured = postgres ??
    openSqliteStore(options.dataDir, { sync: options.sync, onWrite: turns.requestFlush });
  const opened = metrics ? metrics.measureStore(unmeasured) : unmeasured;
  acquired.defer(() => opened.close());
  // run_serve.ts lets no node have a bus without a PostgreSQL store.
  const clusterNode = options.bus && postgres
    ? await joinCluster(options.bus, {
      log,
      now,
      store: opened,
      turns,
      claims: (node) => postgres.sessionClaims(node),
    })
    : undefined;
  if (!clusterNode) return { store: opened, clusterNode, relay: undefined };
  const relay = joinedNode.relay = clusterNode.relay;
  acquired.defer(() => relay.close());
  // Before the store closes, which commits the node's leaving.
  acquired.defer(() => clusterNode.sessionCount.stop());
  return { store: watchGroupWrites(opened, relay.groupsChanged), clusterNode, relay };
}

/**
 * The state two server processes would share (shared_state.ts), in process; on a cluster node its
 * duplicate ids and groups also reach the other nodes. Mutable: a reloaded configuration changes
 * these objects in place (see operator_surface.ts).
 */
function sharedState(limits: ServerOptions["limits"], store: Store, relay: Relay | undefined) {
  const state = createLocalState({
    command: { burst: limits.commandBurst, perSecond: limits.commandsPerSecond },
    connect: connectRate(limits.connectsPerMinute),
    register: registrationRate(limits.registrationsPerMinute),
  });
  const ownDuplicates = state.duplicates;
  if (relay) {
    state.duplicates = sharedDuplicates(ownDuplicates, relay);
    // A group another node created is usable here before its turn's batch arrives.
    state.groups = readGroupsOnMiss(state.groups, store);
  }
  return { state, ownDuplicates };
}

/** The sweep that closes silent connections and those that never log in, on the chat port. */
function idleSweep(
  limits: ServerOptions["limits"],
  parts: {
    log: Logger;
    transport: Pick<RouterTransport, "peerOn">;
    sessions: Pick<SessionDirectory, "get">;
    chatPort: number;
  },
): IdleSweep {
  const { transport, sessions, chatPort } = parts;
  const grown = (limitMs: number) => limitMs + oldestHashWaitMs(limitMs);
  return createIdleSweep({
    log: parts.log,
    // A login waiting for its password hash sent nothing since, and is not logged in yet: in a
    // storm of password logins the queue may outlast either limit, so both grow by the oldest wait
    // (and, until a limit has passed since, by the wait of the hash that finished last: its answer
    // is on its way to a client that has not spoken since it asked).
    idleLimitMs: () => grown(IDLE_SESSION_TIMEOUTS * limits.sessionTimeoutMs),
    loginDeadlineMs: () => limits.loginDeadlineMs > 0 ? grown(limits.loginDeadlineMs) : 0,
    // Exact: the connection's messages named the peer (ZMQ_SRCFD), and that peer holds a session.
    loggedIn: (fd) => {
      const peer = transport.peerOn(fd);
      return peer !== undefined && sessions.get(peer) !== undefined;
    },
    sockets: {
      list: () => connectionsOnPort(chatPort),
      shut: (connection) => shutdownConnection(connection, chatPort),
    },
  });
}

/** The running server: its operator surface, and a stop() that ends sessions and releases all. */
function runningServer(
  surface: Parameters<typeof operatorSurface>[0],
  parts: {
    plugins: LoadReport;
    metrics: ServerMetrics | undefined;
    timers: ReturnType<typeof setInterval>[];
    release: AsyncDisposableStack;
  },
): RunningServer {
  const { endpoint, log, gate, broker, flush } = surface;
  const { metrics, timers, release } = parts;
  let stopping: Promise<void> | undefined;
  return {
    endpoint,
    plugins: parts.plugins,
    metrics: () => metrics ? metrics.render() : Promise.resolve(undefined),
    ...operatorSurface(surface),
    stop(reason = "") {
      stopping ??= (async () => {
        for (const timer of timers) clearInterval(timer);
        gate.pause(); // no new connection either: the byes' grace is not a door left open
        const told = broker.shutdown(
          reason ? `Server shutting down: ${reason}` : "Server shutting down",
        );
        flush();
        // The byes are in libzmq's queues; its I/O thread writes them unless the process exits
        // first, and a process exit skips the socket's linger. Give it a moment when anyone is told.
        if (told > 0) await new Promise((resolve) => setTimeout(resolve, SHUTDOWN_GRACE_MS));
        await release.disposeAsync(); // the transport, the gate, the store, hashing, in order
        log.info("stopped", { sessions: told, reason });
      })();
      return stopping;
    },
  };
}

/** Carries out what an operator on another node asked of the whole cluster. */
function clusterControl(
  action: ControlAction,
  parts: {
    broker: Pick<ReturnType<typeof createBroker>, "kick" | "endAll">;
    gate: Pick<Gate, "paused" | "pause" | "resume">;
    chat: Pick<ChatCore, "groupsCleared">;
    log: Logger;
  },
): void {
  const { broker, gate, chat, log } = parts;
  if (action.action === "kick") {
    const ended = broker.kick(action.login, action.reason);
    if (ended > 0) {
      log.info("operator_kick", { login: action.login, sessions: ended, from: "cluster" });
    }
  } else if (action.action === "clear") {
    broker.endAll(
      "account_deleted",
      "The operator cleared all accounts; log in again to register",
      "identities_cleared",
    );
    chat.groupsCleared();
    log.warn("identities_cleared", { from: "cluster" });
  } else {
    const changed = action.action === "pause" ? !gate.paused : gate.paused;
    if (action.action === "pause") gate.pause();
    else gate.resume();
    if (changed) log.info(`operator_${action.action}`, { from: "cluster" });
  }
}

/** Imports the drop-in plugins and sets every plugin up; logs what loaded and what failed. */
async function loadPlugins(
  options: ServerOptions,
  parts: Pick<SetupDeps, "registry" | "hooks" | "chat" | "store">,
): Promise<LoadReport> {
  const { log } = options;
  const sources = [...options.builtins];
  const failedImports: LoadReport["failed"] = [];
  if (options.pluginsDir) {
    const dir = await importPluginDir(options.pluginsDir);
    sources.push(...dir.sources);
    failedImports.push(...dir.failed);
  }
  const plugins = await setupPlugins(sources, {
    ...parts,
    log,
    pluginOptions: options.pluginOptions,
    timeoutMs: options.limits.pluginTimeoutMs,
  });
  plugins.failed.unshift(...failedImports);
  for (const p of plugins.loaded) {
    log.info("plugin_loaded", { plugin: p.name, commands: p.commands.join(",") });
  }
  for (const f of plugins.failed) log.error("plugin_failed", { source: f.source, error: f.error });
  return plugins;
}

/** Whether the open connections could not be counted once already (said once in the log). */
let countingFailed = false;

/** The open connections on the chat port by address, or undefined (logged once) when unknowable. */
function countConnections(port: number, log: Logger): Map<string, number> | undefined {
  try {
    return peersOnPort(port);
  } catch (error) {
    if (!countingFailed) log.warn("connection_count_failed", { error: String(error) });
    countingFailed = true;
    return undefined;
  }
}

/** Closes the open connections on the chat port from peers `matches` names; how many (0 on failure). */
function closeConnections(
  port: number,
  matches: (address: string) => boolean,
  log: Logger,
): number {
  if (port === 0) return 0; // not bound yet: nothing is open
  try {
    return shutdownPeers(port, matches);
  } catch (error) {
    log.warn("connection_close_failed", { error: String(error) });
    return 0;
  }
}

/**
 * The libzmq context of the gate and the chat ROUTER (ZAP is an inproc:// endpoint of it) and the
 * gate, which admits or refuses every handshake; released through `acquired`, the context last,
 * once both sockets are closed and the ROUTER's linger is over.
 */
function openHandshakes(
  limits: ServerOptions["limits"],
  parts: Pick<Parameters<typeof openGate>[1], "log" | "connectLimit" | "bans"> & {
    chatPort: () => number;
    acquired: AsyncDisposableStack;
  },
): { context: ZmqContext; gate: Gate } {
  const { log, connectLimit, bans, chatPort, acquired } = parts;
  const openConnections = createAddressCap({
    limit: () => limits.connectionsPerAddress,
    count: () => countConnections(chatPort(), log),
  });
  const context = openContext();
  acquired.defer(() => context.term());
  let gate: Gate;
  try {
    gate = openGate(context, { log, connectLimit, bans, openConnections });
  } catch (error) {
    throw new Error(`Cannot open the handshake gate: ${(error as Error).message}`);
  }
  acquired.defer(() => gate.close());
  return { context, gate };
}

/**
 * Creates the chat ROUTER in `context` (through transport/libzmq.ts, for ZMQ_SRCFD) and binds it;
 * throws (the socket closed) when the bind fails.
 */
function bindRouter(options: ServerOptions, context: ZmqContext): ZmqSocket {
  const { log } = options;
  // Before the ROUTER exists: its routing-id counter starts from rand() (docs/REPORT.md, "Routing ids").
  seedRoutingIdCounter();
  const router = context.socket(ZMQ_ROUTER);
  try {
    // Sends to vanished or full peers fail loudly instead of vanishing.
    router.setInt32Option(ZmqOption.ROUTER_MANDATORY, 1);
    // libzmq checks the frame as it arrives, so CURVE's own bytes are added back: the same frames
    // pass with and without encryption.
    const overhead = options.curve ? CURVE_MESSAGE_OVERHEAD : 0;
    router.setInt64Option(ZmqOption.MAXMSGSIZE, MAX_FRAME_BYTES + 1024 + overhead);
    router.setInt32Option(ZmqOption.RCVHWM, RECEIVE_QUEUE_FRAMES);
    router.setInt32Option(ZmqOption.HANDSHAKE_IVL, HANDSHAKE_MS);
    router.setInt32Option(ZmqOption.SNDHWM, options.limits.peerQueueFrames);
    // No ZMTP heartbeats: libzmq answers a PING by itself, so with them a connection that never
    // logs in would never fall silent. Silent connections, dead or idle, are closed by idle_sweep.ts.
    router.setInt32Option(ZmqOption.LINGER, LINGER_MS);
    // Every handshake passes the gate, which pause and resume control.
    router.setStringOption(ZmqOption.ZAP_DOMAIN, ZAP_DOMAIN);
    if (options.curve) {
      router.setInt32Option(ZmqOption.CURVE_SERVER, 1);
      router.setStringOption(ZmqOption.CURVE_SECRETKEY, options.curve.secretKey);
    }
  } catch (error) {
    router.close();
    throw error;
  }
  if (!enableConnectionNotices(router)) {
    // Without notices a session outlives its connection, and a peer choosing its id could take it.
    log.error("connection_notices_unsupported", {});
  }
  if (!setBatchSize(router, CONNECTION_BATCH_BYTES)) {
    log.warn("batch_size_unsupported", { bytes: CONNECTION_BATCH_BYTES });
  }
  try {
    router.bind(options.bind);
  } catch (error) {
    router.close();
    throw new Error(`Cannot listen on "${options.bind}": ${(error as Error).message}`);
  }
  return router;
}

/** The server's periodic work: the rate sample, the session sweep, lag retries, retention. */
function startTimers(
  options: ServerOptions,
  parts: {
    store: Store;
    chat: ChatCore;
    broker: ReturnType<typeof createBroker>;
    rate: RateWindow;
    log: Logger;
    now: () => number;
    turns: Turns;
    idle: IdleSweep;
  },
): ReturnType<typeof setInterval>[] {
  const { store, chat, broker, rate, log, now, turns, idle } = parts;
  const idleLimitMs = IDLE_SESSION_TIMEOUTS * options.limits.sessionTimeoutMs;
  const deadlineMs = options.limits.loginDeadlineMs || Infinity;
  return [
    // A connection is closed between its limit and a quarter of it later.
    setInterval(() => idle.sweep(), Math.min(IDLE_SWEEP_MS, idleLimitMs / 4, deadlineMs / 4)),
    setInterval(() => rate.sample(chat.stats.messages), 1000),
    setInterval(() => {
      broker.sweep();
      turns.requestFlush();
    }, Math.min(SWEEP_INTERVAL_MS, options.limits.sessionTimeoutMs / 3)),
    setInterval(() => {
      broker.retryLagging(options.limits.lagLimitMs);
      turns.requestFlush();
    }, LAG_RETRY_MS),
    setInterval(() => {
      const removed = store.prune(options.retention, now());
      if (removed > 0) log.info("history_pruned", { messages: removed });
    }, PRUNE_INTERVAL_MS),
  ];
}
