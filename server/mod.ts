// `chatz serve`: the main thread. Runs the server on a serving thread and owns the lifecycle:
// the log file, the operator console, the control endpoint for `chatz admin`, and signals.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { sendControl } from "./admin.ts";
import type { Registration } from "./broker.ts";
import { type OperatorConsole, startConsole } from "./console.ts";
import { openControlEndpoint } from "./control_endpoint.ts";
import { ChatError } from "./errors.ts";
import { createLogger, formatRecord, type LogLevel, type LogRecord } from "./log.ts";
import { LogFile } from "./log_file.ts";
import { type OperatorContext, runOperatorLine } from "./operator.ts";
import { startServingThread } from "./serving_thread.ts";
import type { SyncMode } from "./store.ts";

/** Rotated log files kept beside the current one. */
const LOG_FILES_KEPT = 5;
/** How long to wait for an answer from a server that may already use the data folder. */
const PROBE_TIMEOUT_MS = 1000;

/** Options of `chatz serve`, as the command line gives them. */
export interface ServeCliOptions {
  bind: string;
  data: string;
  plugins?: string;
  registration: Registration;
  logLevel: LogLevel;
  logMaxBytes: number;
  sync: SyncMode;
  historyMaxMessages?: number;
  historyMaxDays?: number;
  /** Run the operator console; default: when stdin is a terminal. */
  console?: boolean;
  version: string;
}

/** Runs the server until shutdown; resolves with the process exit code. */
export async function runServe(options: ServeCliOptions): Promise<number> {
  mkdirSync(options.data, { recursive: true, mode: 0o700 }); // it holds password hashes
  if (await sendControl(options.data, { line: "status" }, PROBE_TIMEOUT_MS)) {
    console.error(
      `chatz: Cannot start: a chatz server is already running with data folder "${options.data}"`,
    );
    return 1;
  }
  const logs = new LogFile({
    path: join(options.data, "chatz.log"),
    maxBytes: options.logMaxBytes,
    keep: LOG_FILES_KEPT,
  });
  let operatorConsole: OperatorConsole | undefined;
  const sink = (record: LogRecord) => {
    const line = formatRecord(record);
    logs.write(line);
    if (!operatorConsole) console.error(line);
    else if (record.level === "warn" || record.level === "error") operatorConsole.show(line);
  };
  const log = createLogger(options.logLevel, sink);

  let thread;
  try {
    thread = await startServingThread({
      bind: options.bind,
      dataDir: options.data,
      pluginsDir: options.plugins,
      registration: options.registration,
      sync: options.sync,
      retention: {
        maxMessages: options.historyMaxMessages,
        maxAgeMs: options.historyMaxDays === undefined
          ? undefined
          : options.historyMaxDays * 86_400_000,
      },
      version: options.version,
      logLevel: options.logLevel,
    }, sink);
  } catch (error) {
    log.error("start_failed", { error: (error as Error).message });
    console.error(`chatz: ${(error as Error).message}`);
    logs.close();
    return 1;
  }

  const done = Promise.withResolvers<number>();
  let stopping = false;
  const shutdown = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    log.info("shutdown", { reason });
    operatorConsole?.close();
    await thread.stop(reason);
    await control.close();
    logs.close();
    done.resolve(0);
  };

  const ctx: OperatorContext = {
    server: thread,
    logs,
    log,
    version: options.version,
    // Let the reply that announced the shutdown go out first.
    shutdown: (reason) => setTimeout(() => shutdown(reason || "operator"), 0),
  };
  const control = await openControlEndpoint(
    options.data,
    (request) =>
      runOperatorLine(ctx, request.line, {
        source: "admin",
        confirm: () => Promise.resolve(request.yes === true),
      }),
  );

  console.log(`chatz ${options.version} listening on ${thread.endpoint} (data in ${options.data})`);
  for (const failure of thread.plugins.failed) {
    console.error(`chatz: plugin failed: ${failure.error}`);
  }

  if (options.console ?? Deno.stdin.isTerminal()) {
    operatorConsole = startConsole({
      terminal: Deno.stdin.isTerminal(),
      async run(line, confirm) {
        try {
          return (await runOperatorLine(ctx, line, { source: "console", confirm })).text;
        } catch (error) {
          return error instanceof ChatError
            ? `error: ${error.message} [${error.code}]`
            : `error: ${(error as Error).message}`;
        }
      },
      onInterrupt: () => shutdown("Ctrl-C on the console"),
    });
  }

  const signals: [Deno.Signal, () => void][] = [
    ["SIGINT", () => shutdown("received SIGINT")],
    ["SIGTERM", () => shutdown("received SIGTERM")],
    ["SIGHUP", () => {
      logs.reopen();
      log.info("log_reopened", { path: logs.path });
    }],
  ];
  for (const [signal, handler] of signals) Deno.addSignalListener(signal, handler);
  thread.ended.then(() => {
    if (stopping) return;
    log.error("serving_thread_ended", {});
    logs.close();
    done.resolve(1);
  });

  const code = await done.promise;
  for (const [signal, handler] of signals) Deno.removeSignalListener(signal, handler);
  return code;
}
