// `chatz serve`: the main thread. Runs the server on a serving thread and owns the lifecycle:
// the log file, the operator console, the control endpoint for `chatz admin`, and signals.

import { mkdirSync, statSync } from "node:fs";
import process from "node:process";
import { join } from "node:path";
import type { Registration } from "../serving/broker.ts";
import { type OperatorConsole, startConsole } from "./console.ts";
import { controlSocketProblem } from "../../protocol/control.ts";
import { openControlEndpoint } from "./control_endpoint.ts";
import { type EncryptionSetup, PLAINTEXT_WARNING, setUpEncryption } from "./encryption.ts";
import { lockDataFolder } from "./data_lock.ts";
import { ChatError } from "../errors.ts";
import { type KeyEndpoint, openKeyEndpoint } from "./key_endpoint.ts";
import {
  type AdjustableLogger,
  createLogger,
  type LogFormat,
  type Logger,
  type LogLevel,
  type LogRecord,
  recordFormatter,
} from "../log.ts";
import { LogFile } from "./log_file.ts";
import { runOperatorLine } from "./operator.ts";
import type { OperatorContext } from "./operator_command.ts";
import { type ServingThread, startServingThread } from "./serving_thread.ts";
import { type MetricsEndpoint, openMetricsEndpoint } from "./metrics_endpoint.ts";
import type { ServerLimits } from "../serving/serve.ts";
import { type Checkpointer, openCheckpointer, type SyncMode } from "../serving/store/sqlite.ts";
import type { Retention } from "../serving/store/store.ts";
import { isPostgresUrl } from "../serving/store/postgres.ts";

/** Rotated log files kept beside the current one. */
const LOG_FILES_KEPT = 5;
/** How often the main thread checkpoints the store's write-ahead log. */
const CHECKPOINT_EVERY_MS = 200;

/** Options of `chatz serve`, as the command line gives them. */
export interface ServeCliOptions {
  bind: string;
  data: string;
  plugins?: string;
  /** Options by plugin name, as `--plugin-option NAME.KEY=VALUE` gave them. */
  pluginOptions?: Record<string, Record<string, string>>;
  registration: Registration;
  logLevel: LogLevel;
  logMaxBytes: number;
  sync: SyncMode;
  /** Cluster mode: the shared PostgreSQL database (postgres://…); needs `bus`. */
  store?: string;
  /** Cluster mode: the NATS server(s) (nats://…, comma-separated); needs `store`. */
  bus?: string;
  historyMaxMessages?: number;
  historyMaxDays?: number;
  /** Run the operator console; default: when stdin is a terminal. */
  console?: boolean;
  /**
   * Encrypt the chat endpoint with CURVE (key pair in `<data>/curve.key`); default true. `false`
   * (`--no-curve`) serves plaintext, with a warning at start and in `status`.
   */
  curve?: boolean;
  /** Where to serve the public key; default: the bind's host, port + 1; `"none"`: nowhere. */
  keyBind?: string;
  limits: ServerLimits;
  /** Days a deleted account's login stays reserved. */
  deletedLoginDays?: number;
  /** Where to serve Prometheus metrics over HTTP (`host:port`); unset: not served. */
  metricsBind?: string;
  /** How log lines are written. */
  logFormat?: LogFormat;
  version: string;
  /** Reads the configuration again (SIGHUP); absent without a config file. */
  reload?: () => ServeCliOptions;
}

/** Runs the server until shutdown; resolves with the process exit code. */
export async function runServe(initial: ServeCliOptions): Promise<number> {
  const refusal = checkClusterOptions(initial) ?? claimDataFolder(initial.data);
  if (refusal) {
    console.error(`chatz: Cannot start: ${refusal}`);
    return 1;
  }
  // Everything acquired from here is released in reverse when runServe returns, however it does.
  await using lifetime = new AsyncDisposableStack();
  const output = openLogOutput(initial);
  lifetime.defer(() => output.logs.close());
  let parts: ServingParts;
  try {
    parts = await startServing(initial, output, lifetime);
  } catch (error) {
    output.log.error("start_failed", { error: (error as Error).message });
    console.error(`chatz: ${(error as Error).message}`);
    return 1;
  }
  return await serveUntilShutdown(initial, output, parts, lifetime);
}

/** Creates the data folder and takes its lock; returns why it cannot be used, if so. */
function claimDataFolder(data: string): string | undefined {
  const socketProblem = controlSocketProblem(data);
  if (socketProblem) return socketProblem;
  // It holds password hashes and the CURVE secret key: what this process creates is its user's
  // alone, and a folder other users may read or write is refused rather than used.
  process.umask(0o077);
  mkdirSync(data, { recursive: true, mode: 0o700 });
  const mode = statSync(data).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    return `data folder "${data}" is open to other users (mode ${
      mode.toString(8).padStart(3, "0")
    }): it holds password hashes; run: chmod 700 "${data}"`;
  }
  if (!lockDataFolder(data)) {
    return `a chatz server is already running with data folder "${data}"`;
  }
  return undefined;
}

/** Where log records go: the log file, and stderr or the operator console's warnings. */
interface LogOutput {
  logs: LogFile;
  log: AdjustableLogger;
  sink(record: LogRecord): void;
  setFormat(format: LogFormat): void;
  /** Once a console runs, only warnings and errors are shown, on it instead of stderr. */
  showOn(console: OperatorConsole): void;
}

function openLogOutput(options: ServeCliOptions): LogOutput {
  const logs = new LogFile({
    path: join(options.data, "chatz.log"),
    maxBytes: options.logMaxBytes,
    keep: LOG_FILES_KEPT,
  });
  let operatorConsole: OperatorConsole | undefined;
  let format = recordFormatter(options.logFormat ?? "text");
  const show = (line: string, level: LogRecord["level"]) => {
    if (!operatorConsole) console.error(line);
    else if (level === "warn" || level === "error") operatorConsole.show(line);
  };
  // Said once the log file takes lines again after a full disk (or another write failure).
  const dropNotice = (lines: number, error: string) =>
    format({ ts: Date.now(), level: "warn", event: "log_lines_dropped", fields: { lines, error } });
  const sink = (record: LogRecord) => {
    const line = format(record);
    const notice = logs.write(line, dropNotice);
    if (notice) show(notice, "warn");
    show(line, record.level);
  };
  return {
    logs,
    log: createLogger(options.logLevel, sink),
    sink,
    setFormat: (next) => format = recordFormatter(next),
    showOn: (next) => operatorConsole = next,
  };
}

/** What serving runs on: the serving thread, and how it is reached and encrypted. */
interface ServingParts {
  thread: ServingThread;
  encryption: EncryptionSetup;
  keyEndpoint?: KeyEndpoint;
  metrics?: MetricsEndpoint;
}

/**
 * Starts encryption, the serving thread, the checkpoints and the key endpoint, each released by
 * `lifetime`; throws with a message for the operator when a part cannot start.
 */
async function startServing(
  options: ServeCliOptions,
  output: LogOutput,
  lifetime: AsyncDisposableStack,
): Promise<ServingParts> {
  const { log } = output;
  // Encryption: the key pair, and where its public half is served for trust on first use.
  const encryption = await setUpEncryption(options, log);
  const curveKeys = encryption.keys;
  const thread = await startServingThread({
    bind: options.bind,
    dataDir: options.data,
    pluginsDir: options.plugins,
    pluginOptions: options.pluginOptions,
    registration: options.registration,
    sync: options.sync,
    store: options.store,
    bus: options.bus,
    retention: retentionOf(options),
    deletedLoginDays: options.deletedLoginDays,
    metrics: options.metricsBind !== undefined,
    version: options.version,
    logLevel: options.logLevel,
    curve: curveKeys && { secretKey: curveKeys.secretKey },
    limits: options.limits,
  }, output.sink);
  let threadEnded = false;
  thread.ended.then(() => threadEnded = true);
  // A normal shutdown stops the thread first, with its reason; this covers the other ways out.
  let stopReason = "the server is stopping";
  lifetime.defer(() => threadEnded ? undefined : thread.stop(stopReason));

  // The store's write-ahead log is copied into the database from this thread, so the serving
  // thread never waits on the copy or its fsync (docs/REPORT.md, latency).
  const checkpoints = options.store
    ? { stop() {} } // PostgreSQL keeps its own log
    : startCheckpoints(options.data, options.sync, log);
  lifetime.defer(() => checkpoints.stop());

  let keyEndpoint: KeyEndpoint | undefined;
  if (curveKeys && encryption.keyBind) {
    try {
      keyEndpoint = await openKeyEndpoint(encryption.keyBind, curveKeys.publicKey);
    } catch (error) {
      stopReason = "the key endpoint could not be bound";
      throw error;
    }
    lifetime.defer(() => keyEndpoint!.close());
    log.info("key_endpoint", { endpoint: keyEndpoint.endpoint });
  }
  let metrics: MetricsEndpoint | undefined;
  if (options.metricsBind !== undefined) {
    metrics = await openMetricsEndpoint(options.metricsBind, thread);
    lifetime.defer(() => metrics!.close());
    log.info("metrics_endpoint", { url: metrics.url });
  }
  return { thread, encryption, keyEndpoint, metrics };
}

/**
 * Serves until a signal, the console, `chatz admin stop` or the serving thread's end: opens the
 * control endpoint, prints the banner, runs the console and the signal handlers. Resolves with the
 * exit code once the serving thread has stopped.
 */
async function serveUntilShutdown(
  initial: ServeCliOptions,
  output: LogOutput,
  parts: ServingParts,
  lifetime: AsyncDisposableStack,
): Promise<number> {
  let options = initial;
  const { log, logs } = output;
  const { thread, encryption, keyEndpoint } = parts;
  const curveKeys = encryption.keys;
  const done = Promise.withResolvers<number>();
  let stopping = false;
  let operatorConsole: OperatorConsole | undefined;
  const shutdown = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    log.info("shutdown", { reason });
    operatorConsole?.close();
    await thread.stop(reason); // first: the rest is released when runServe returns
    done.resolve(0);
  };

  const ctx: OperatorContext = {
    server: thread,
    logs,
    log,
    version: options.version,
    encryption: curveKeys
      ? { mode: "curve", publicKey: curveKeys.publicKey, keyEndpoint: keyEndpoint?.endpoint }
      : { mode: "plaintext", warning: PLAINTEXT_WARNING },
    // Let the reply that announced the shutdown go out first.
    shutdown: (reason) => setTimeout(() => shutdown(reason || "operator"), 0),
  };
  const control = await openControlEndpoint(
    options.data,
    (request) =>
      runOperatorLine(ctx, request.line, {
        source: "admin",
        confirm: () => Promise.resolve(request.yes === true),
        secret: () =>
          Promise.resolve(typeof request.secret === "string" ? request.secret : undefined),
      }),
  );
  lifetime.defer(() => control.close());

  printBanner(options, parts);
  if (options.console ?? Deno.stdin.isTerminal()) {
    operatorConsole = startOperatorConsole(ctx, () => shutdown("Ctrl-C on the console"));
    output.showOn(operatorConsole);
  }

  const signals: [Deno.Signal, () => void][] = [
    ["SIGINT", () => shutdown("received SIGINT")],
    ["SIGTERM", () => shutdown("received SIGTERM")],
    ["SIGHUP", () => {
      logs.reopen();
      log.info("log_reopened", { path: logs.path });
      // Without a config file the settings stay; the serving thread still reads the bans again.
      reloadConfig(options, initial.reload ?? (() => options), {
        server: thread,
        log,
        setFormat: output.setFormat,
      }).then((current) => options = current);
    }],
  ];
  for (const [signal, handler] of signals) Deno.addSignalListener(signal, handler);
  lifetime.defer(() => {
    for (const [signal, handler] of signals) Deno.removeSignalListener(signal, handler);
  });
  thread.ended.then(() => {
    if (stopping) return;
    log.error("serving_thread_ended", {});
    done.resolve(1);
  });
  return await done.promise;
}

/** What `chatz serve` prints once it listens: where, its key, and what failed to load. */
function printBanner(options: ServeCliOptions, parts: ServingParts): void {
  const { thread, encryption, keyEndpoint } = parts;
  console.log(`chatz ${options.version} listening on ${thread.endpoint} (data in ${options.data})`);
  if (parts.metrics) console.log(`metrics: ${parts.metrics.url}`);
  if (encryption.keys) {
    console.log(`CURVE public key: ${encryption.keys.publicKey}`);
    if (keyEndpoint) console.log(`key endpoint: ${keyEndpoint.endpoint}`);
  } else {
    console.error(`chatz: ${PLAINTEXT_WARNING}`);
  }
  for (const failure of thread.plugins.failed) {
    console.error(`chatz: plugin failed: ${failure.error}`);
  }
}

/** The operator console on stdin, running the operator's commands. */
function startOperatorConsole(ctx: OperatorContext, onInterrupt: () => void): OperatorConsole {
  return startConsole({
    terminal: Deno.stdin.isTerminal(),
    async run(line, confirm, secret) {
      try {
        return (await runOperatorLine(ctx, line, { source: "console", confirm, secret })).text;
      } catch (error) {
        return error instanceof ChatError
          ? `error: ${error.message} [${error.code}]`
          : `error: ${(error as Error).message}`;
      }
    },
    onInterrupt,
  });
}

/** History retention as the server takes it. */
function retentionOf(options: ServeCliOptions): Retention {
  return {
    maxMessages: options.historyMaxMessages,
    maxAgeMs: options.historyMaxDays === undefined
      ? undefined
      : options.historyMaxDays * 86_400_000,
  };
}

/** Settings that a reload cannot change: they are fixed when the server binds and opens its files. */
const RESTART_ONLY = [
  "bind",
  "data",
  "store",
  "bus",
  "plugins",
  "sync",
  "curve",
  "keyBind",
  "console",
  "metricsBind",
  "logMaxBytes",
  "deletedLoginDays",
] as const;

/**
 * Reads the configuration again and applies what can change while running: limits, log level and
 * format, registration, retention. Logs what changed and what needs a restart; a bad file changes
 * nothing. Resolves with the options now in force.
 */
async function reloadConfig(
  current: ServeCliOptions,
  reload: () => ServeCliOptions,
  target: {
    server: Pick<ServingThread, "call">;
    log: AdjustableLogger;
    setFormat(format: LogFormat): void;
  },
): Promise<ServeCliOptions> {
  const { log } = target;
  let next: ServeCliOptions;
  try {
    next = reload();
  } catch (error) {
    log.error("config_reload_failed", { error: (error as Error).message });
    return current;
  }
  const changed: string[] = [];
  if (next.logLevel !== current.logLevel) changed.push("logLevel");
  if ((next.logFormat ?? "text") !== (current.logFormat ?? "text")) changed.push("logFormat");
  log.setLevel(next.logLevel);
  target.setFormat(next.logFormat ?? "text");
  try {
    changed.push(
      ...await target.server.call<string[]>({
        method: "reconfigure",
        settings: {
          limits: next.limits,
          registration: next.registration,
          retention: retentionOf(next),
        },
        logLevel: next.logLevel,
      }),
    );
  } catch (error) {
    log.error("config_reload_failed", { error: (error as Error).message });
    return current;
  }
  const fixed = RESTART_ONLY.filter((key) => next[key] !== current[key]);
  const restart: string[] = [...fixed];
  if (next.limits.peerQueueFrames !== current.limits.peerQueueFrames) restart.push("peerQueue");
  // Plugins read their options at setup.
  if (JSON.stringify(next.pluginOptions) !== JSON.stringify(current.pluginOptions)) {
    restart.push("pluginOption");
  }
  log.info("config_reloaded", { changed: changed.join(",") || "nothing" });
  if (restart.length > 0) log.warn("config_needs_restart", { settings: restart.join(",") });
  // What needs a restart keeps its running value, so the next reload reports it again.
  const kept = Object.fromEntries(fixed.map((key) => [key, current[key]]));
  return {
    ...next,
    ...kept,
    limits: { ...next.limits, peerQueueFrames: current.limits.peerQueueFrames },
  };
}

/** Why the cluster options cannot work, if they cannot: both or neither, each of its kind. */
function checkClusterOptions(options: ServeCliOptions): string | undefined {
  const { store, bus } = options;
  if (store === undefined && bus === undefined) return undefined;
  if (store === undefined || bus === undefined) {
    return "a cluster node needs both --store postgres://… and --bus nats://…";
  }
  if (!isPostgresUrl(store)) {
    return `the store "${store}" is not a postgres:// or postgresql:// URL`;
  }
  if (!bus.split(",").every((url) => /^(nats|tls):\/\/./.test(url.trim()))) {
    return `the bus "${bus}" is not a nats:// URL (several: comma-separated)`;
  }
  return undefined;
}

/** Checkpoints the store in `dir` every CHECKPOINT_EVERY_MS from this thread, until stopped. */
function startCheckpoints(dir: string, sync: SyncMode, log: Logger): { stop(): void } {
  let checkpointer: Checkpointer;
  try {
    checkpointer = openCheckpointer(dir, { sync });
  } catch (error) {
    // The serving connection still checkpoints by itself, later and on the serving thread.
    log.warn("checkpointer_failed", { error: (error as Error).message });
    return { stop() {} };
  }
  const timer = setInterval(() => {
    try {
      checkpointer.checkpoint();
    } catch (error) {
      log.warn("checkpoint_failed", { error: (error as Error).message });
    }
  }, CHECKPOINT_EVERY_MS);
  return {
    stop() {
      clearInterval(timer);
      checkpointer.close();
    },
  };
}
