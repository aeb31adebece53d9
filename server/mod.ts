// `chatz serve`: starts the server with its built-in plugins, logs to stderr, stops on SIGINT/SIGTERM.
// The CLI layer of the server; startServer in serve.ts does the work.

import { BUILTIN_PLUGINS } from "../plugins/mod.ts";
import type { Registration } from "./broker.ts";
import { createLogger, formatRecord, type LogLevel } from "./log.ts";
import { startServer } from "./serve.ts";
import type { Retention, SyncMode } from "./store.ts";

/** Options of `chatz serve`, as the command line gives them. */
export interface ServeCliOptions {
  bind: string;
  data: string;
  plugins?: string;
  registration: Registration;
  logLevel: LogLevel;
  sync: SyncMode;
  historyMaxMessages?: number;
  historyMaxDays?: number;
  version: string;
}

/** Runs the server until a signal stops it; resolves with the process exit code. */
export async function runServe(options: ServeCliOptions): Promise<number> {
  const log = createLogger(options.logLevel, (record) => console.error(formatRecord(record)));
  const retention: Retention = {
    maxMessages: options.historyMaxMessages,
    maxAgeMs: options.historyMaxDays === undefined
      ? undefined
      : options.historyMaxDays * 86_400_000,
  };
  let server;
  try {
    server = await startServer({
      bind: options.bind,
      dataDir: options.data,
      builtins: BUILTIN_PLUGINS.map((plugin) => ({ source: "builtin", plugin })),
      pluginsDir: options.plugins,
      registration: options.registration,
      sync: options.sync,
      retention,
      version: options.version,
      log,
    });
  } catch (error) {
    console.error(`chatz: ${(error as Error).message}`);
    return 1;
  }
  console.log(`chatz ${options.version} listening on ${server.endpoint} (data in ${options.data})`);
  const stopped = Promise.withResolvers<void>();
  const stop = (signal: string) => () => {
    log.info("signal", { signal });
    server.stop(`received ${signal}`).then(stopped.resolve);
  };
  Deno.addSignalListener("SIGINT", stop("SIGINT"));
  Deno.addSignalListener("SIGTERM", stop("SIGTERM"));
  await stopped.promise;
  return 0;
}
