// Loads plugins: the built-in ones and every file of an operator's drop-in folder, through one path.
// A plugin that fails to load or set up is logged by name and skipped; the others keep working.

import { readdir, stat } from "node:fs/promises";
import { extname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { DeliverHook, Plugin, PluginContext } from "../../protocol/plugin.ts";
import type { Logger } from "../log.ts";
import { serverVoice } from "./bound_services.ts";
import type { ChatCore } from "./chat.ts";
import { pluginStorage } from "./plugin_storage.ts";
import { DEFAULT_HANDLER_TIMEOUT_MS, type Registry } from "./registry.ts";
import type { Store } from "./store/store.ts";

/** A plugin candidate: a module's default export and where it came from. */
export interface PluginSource {
  source: string;
  plugin: unknown;
}

/** What loading did. */
export interface LoadReport {
  loaded: { name: string; description: string; source: string; commands: string[] }[];
  failed: { source: string; error: string }[];
}

const PLUGIN_EXTENSIONS = new Set([".ts", ".js", ".mjs"]);

/** Imports every plugin file of a folder, in name order; files that fail to import are reported, not thrown. */
export async function importPluginDir(
  dir: string,
): Promise<{ sources: PluginSource[]; failed: LoadReport["failed"] }> {
  const sources: PluginSource[] = [];
  const failed: LoadReport["failed"] = [];
  // Plugins run with all of the server's permissions: a folder or file that other users can write
  // would let them run code as the server.
  const open = await writableByOthers(dir);
  if (open !== undefined) {
    throw new Error(
      `Cannot load plugins from "${dir}": other users can write the folder (mode ${open}); ` +
        `run: chmod go-w "${dir}"`,
    );
  }
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) =>
      PLUGIN_EXTENSIONS.has(extname(n)) && !n.endsWith("_test.ts")
    ).sort();
  } catch (error) {
    throw new Error(`Cannot read plugin folder "${dir}": ${(error as Error).message}`);
  }
  for (const name of names) {
    const path = resolve(join(dir, name));
    const mode = await writableByOthers(path);
    if (mode !== undefined) {
      failed.push({
        source: path,
        error: `Cannot import plugin file "${path}": other users can write it (mode ${mode})`,
      });
      continue;
    }
    try {
      const module = await import(pathToFileURL(path).href);
      sources.push({ source: path, plugin: module.default });
    } catch (error) {
      failed.push({
        source: path,
        error: `Cannot import plugin file "${path}": ${importProblem(error)}`,
      });
    }
  }
  return { sources, failed };
}

/** What setting plugins up works with. */
export interface SetupDeps {
  registry: Registry;
  hooks: DeliverHook[];
  log: Logger;
  /** The chat core: its event bus, and its services for the plugins' server voice. */
  chat: ChatCore;
  /** Where plugins' storage lives. */
  store: Store;
  /** Options by plugin name, from the server's configuration. */
  pluginOptions?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** A setup not settled after this long is skipped (default: the handler timeout). */
  timeoutMs?: number;
}

/** Sets up plugins in order, registering their commands and hooks. */
export async function setupPlugins(
  sources: readonly PluginSource[],
  deps: SetupDeps,
): Promise<LoadReport> {
  const report: LoadReport = { loaded: [], failed: [] };
  const names = new Set<string>();
  for (const { source, plugin } of sources) {
    const problem = shapeProblem(plugin);
    if (problem) {
      report.failed.push({ source, error: `Cannot load plugin from "${source}": ${problem}` });
      continue;
    }
    const p = plugin as Plugin;
    if (names.has(p.name)) {
      report.failed.push({
        source,
        error: `Cannot load plugin "${p.name}" from "${source}": a plugin by that name is loaded`,
      });
      continue;
    }
    const handle = pluginContext(p.name, deps);
    try {
      await settleWithin(p.setup(handle.ctx), deps.timeoutMs ?? DEFAULT_HANDLER_TIMEOUT_MS);
    } catch (error) {
      handle.seal();
      deps.registry.unregisterPlugin(p.name);
      deps.chat.events.forget(p.name);
      report.failed.push({
        source,
        error: `Cannot set up plugin "${p.name}" from "${source}": ${firstLine(error)}`,
      });
      continue;
    }
    handle.seal();
    names.add(p.name);
    deps.hooks.push(...handle.hooks);
    report.loaded.push({
      name: p.name,
      description: p.description,
      source,
      commands: handle.commands,
    });
  }
  return report;
}

/**
 * The context a plugin's setup gets, and what it registered. Once sealed (setup over, or given
 * up), every registering call throws an error saying so: a command or hook added later would be
 * missing from the catalog, or half there.
 */
function pluginContext(name: string, deps: SetupDeps) {
  const commands: string[] = [];
  const hooks: DeliverHook[] = [];
  let sealed = false;
  const open = (what: string) => {
    if (sealed) {
      throw new Error(
        `Cannot ${what}: plugin "${name}" finished its setup; register everything in setup()`,
      );
    }
  };
  const ctx: PluginContext = {
    command(spec) {
      open(`register command "${String(spec?.name).slice(0, 40)}"`);
      deps.registry.register(name, spec);
      commands.push(spec.name);
    },
    onDeliver(hook) {
      open("add a deliver hook");
      if (typeof hook !== "function") throw new Error("Cannot add a deliver hook: not a function");
      hooks.push(guardHook(name, hook, deps.log));
    },
    on(event, handler) {
      open(`subscribe to "${String(event).slice(0, 40)}"`);
      deps.chat.events.on(name, event, handler);
    },
    voice(reason) {
      open("ask for the server's voice");
      return serverVoice(deps.chat, deps.log, { plugin: name, reason: String(reason) });
    },
    options: Object.freeze({ ...deps.pluginOptions?.[name] }),
    storage: pluginStorage(deps.store, name),
    log: Object.freeze({
      info: (event: string, fields?: Record<string, unknown>) =>
        deps.log.info(event, { plugin: name, ...fields }),
      warn: (event: string, fields?: Record<string, unknown>) =>
        deps.log.warn(event, { plugin: name, ...fields }),
      error: (event: string, fields?: Record<string, unknown>) =>
        deps.log.error(event, { plugin: name, ...fields }),
    }),
  };
  return { ctx, commands, hooks, seal: () => (sealed = true) };
}

/** Waits for a setup's result; a setup that has not settled after `ms` throws. */
async function settleWithin(result: void | Promise<void>, ms: number): Promise<void> {
  if (!(result instanceof Promise)) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`setup did not settle within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([result, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** An error's first line: enough to name the problem in one log line. */
/**
 * Why an import failed, in one line: its first line plus where, when the error says where (a
 * syntax error's `at file:///…/x.ts:4:2` comes last), so the operator can open the file there.
 */
export function importProblem(error: unknown): string {
  const text = String((error as Error)?.message ?? error);
  const first = text.split("\n")[0];
  const at = /\bat (file:\/\/\S+?):(\d+):(\d+)\s*$/.exec(text);
  if (!at || first.includes(at[1])) return first;
  let path = at[1];
  try {
    path = fileURLToPath(at[1]);
  } catch { /* not a file URL after all: shown as it came */ }
  return `${first} (at ${path}:${at[2]}:${at[3]})`;
}

function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split("\n")[0];
}

function shapeProblem(plugin: unknown): string | undefined {
  if (typeof plugin !== "object" || plugin === null) {
    return "the default export is not a plugin object";
  }
  const p = plugin as Record<string, unknown>;
  if (typeof p.name !== "string" || !/^[a-z][a-z0-9_-]{0,39}$/.test(p.name)) {
    return "`name` must be 1 to 40 lowercase letters, digits, '_' or '-'";
  }
  if (typeof p.description !== "string" || p.description.length === 0) {
    return "`description` is missing";
  }
  if (typeof p.setup !== "function") return "`setup` is not a function";
  return undefined;
}

/**
 * A hook that throws or returns something that is not a verdict is logged and skipped: the message
 * goes on unchanged.
 */
function guardHook(plugin: string, hook: DeliverHook, log: Logger): DeliverHook {
  const failed = (error: unknown) => {
    log.error("plugin_failed", { plugin, hook: "deliver", error: firstLine(error) });
    return undefined;
  };
  return (message) => {
    let verdict: unknown;
    try {
      verdict = hook(message);
    } catch (error) {
      return failed(error);
    }
    if (verdict === undefined) return undefined;
    if (typeof verdict === "object" && verdict !== null) {
      if ("drop" in verdict && typeof verdict.drop === "string") return { drop: verdict.drop };
      if ("text" in verdict && typeof verdict.text === "string") return { text: verdict.text };
    }
    return failed(`the hook returned a ${typeof verdict} that is not a verdict`);
  };
}

/** The octal mode of a path that group or other users can write, or undefined when they cannot. */
async function writableByOthers(path: string): Promise<string | undefined> {
  let mode: number;
  try {
    mode = (await stat(path)).mode & 0o777;
  } catch {
    return undefined; // reading it fails next, with its own error
  }
  return (mode & 0o022) === 0 ? undefined : mode.toString(8).padStart(3, "0");
}
