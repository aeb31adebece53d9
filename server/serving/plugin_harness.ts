// A test bench for plugin authors: runs commands of a plugin against fake sessions, without a server.
// It uses the real registry and chat core with a temporary store, so a plugin behaves as it will live.

import { nameKey, type ServerEvent } from "../../protocol/mod.ts";
import type { CommandResult, Plugin } from "../../protocol/plugin.ts";
import { assembleServing } from "./assemble.ts";
import { createLogger, type LogRecord } from "../log.ts";
import { setupPlugins } from "./plugin_loader.ts";
import type { Session } from "./sessions.ts";
import { openSqliteStore } from "./store/sqlite.ts";

/** A bench with some users logged in. */
export interface PluginBench {
  /** Runs a command line (without the slash) as `login`: `run("alice", "roll 2d6")`. */
  run(login: string, line: string): Promise<CommandResult>;
  /** Events each user received since the last call, by login. */
  events(login: string): ServerEvent[];
  /** Log records the plugins wrote. */
  readonly logs: LogRecord[];
  close(): Promise<void>;
}

/**
 * Sets up `plugins` and logs `logins` in (each with one session). Call `close()` when done.
 *
 * @example
 * ```ts
 * import { createPluginBench } from "./plugin_harness.ts";
 * import roll from "../../plugins/examples/roll.ts";
 * const bench = await createPluginBench([roll], { logins: ["alice", "bob"] });
 * const result = await bench.run("alice", "roll 2d6");
 * bench.events("bob"); // [{ type: "message", scope: "public", from: "alice", ... }]
 * await bench.close();
 * ```
 */
export async function createPluginBench(
  plugins: readonly Plugin[],
  options: {
    logins: readonly string[];
    /** Options by plugin name, as `--plugin-option NAME.KEY=VALUE` gives them to a server. */
    pluginOptions?: Record<string, Record<string, string>>;
  },
): Promise<PluginBench> {
  const dir = await Deno.makeTempDir({ prefix: "chatz-bench-" });
  const store = openSqliteStore(dir);
  const logs: LogRecord[] = [];
  const log = createLogger("debug", (record) => logs.push(record));
  const { sessions, outbox, hooks, registry, chat } = assembleServing(store, {
    log,
    now: Date.now,
    maxGroupsPerUser: Number.MAX_SAFE_INTEGER,
    maxWaitingPerAccount: Number.MAX_SAFE_INTEGER,
  });
  const report = await setupPlugins(plugins.map((plugin) => ({ source: "bench", plugin })), {
    registry,
    hooks,
    log,
    chat,
    store,
    pluginOptions: options.pluginOptions,
  });
  if (report.failed.length > 0) {
    store.close();
    await Deno.remove(dir, { recursive: true });
    throw new Error(report.failed.map((f) => f.error).join("; "));
  }
  const received = new Map<string, ServerEvent[]>();
  for (const login of options.logins) {
    store.createAccount({ key: nameKey(login), login, password: "-", created: Date.now() });
    const session: Session = {
      id: `bench:${login}`,
      peer: new TextEncoder().encode(`bench:${login}`),
      account: nameKey(login),
      login,
      since: Date.now(),
      lastSeen: Date.now(),
      client: "bench",
      host: "bench",
    };
    chat.sessionStarted(session, sessions.add(session));
    received.set(login, []);
  }
  const collect = () => {
    store.commit();
    outbox.drain((to, [, body]) => {
      const login = new TextDecoder().decode(to.peer).slice("bench:".length);
      received.get(login)?.push(...JSON.parse(body));
    });
  };
  collect();
  for (const list of received.values()) list.length = 0;

  return {
    async run(login, line) {
      const session = sessions.of(nameKey(login))[0];
      if (!session) {
        throw new Error(`Cannot run "${line}": "${login}" is not one of the bench's logins`);
      }
      const space = line.search(/\s/);
      const request = space < 0
        ? { cmd: line, args: "" }
        : { cmd: line.slice(0, space), args: line.slice(space + 1) };
      const result = await registry.dispatch(
        Object.freeze({ login: session.login, session: session.id }),
        request,
        {
          services: chat.bind,
          onPluginFailure: (plugin, command, error) =>
            log.error("plugin_failed", { plugin, command, error: String(error) }),
        },
      );
      collect();
      return result;
    },
    events(login) {
      const list = received.get(login) ?? [];
      received.set(login, []);
      return list;
    },
    logs,
    async close() {
      store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}
