// A plugin's own key-value storage (ctx.storage): JSON values in the store, under the plugin's name.
// Keys and values are bounded, so one plugin cannot fill the database with a single call.

import type { JsonValue, PluginStorage } from "../../protocol/plugin.ts";
import type { Store } from "./store/store.ts";

/** Longest key: room for a prefix and a login or group name, short enough to index cheaply. */
export const MAX_PLUGIN_KEY_LENGTH = 200;
/** Largest value as JSON: a plugin's small state, not a file store. */
export const MAX_PLUGIN_VALUE_BYTES = 64 * 1024;
/** Most keys one `keys()` call returns by default. */
const DEFAULT_KEYS_LIMIT = 1000;

/**
 * The storage of one plugin over the store.
 *
 * @example
 * ```ts
 * import { pluginStorage } from "./plugin_storage.ts";
 * import type { Store } from "./store/store.ts";
 * declare const store: Store;
 * const storage = pluginStorage(store, "seen");
 * storage.set("alice", { at: 1_700_000_000_000 });
 * ```
 */
export function pluginStorage(store: Store, plugin: string): PluginStorage {
  const checkKey = (key: unknown, action: string): string => {
    if (typeof key !== "string" || key.length === 0 || key.length > MAX_PLUGIN_KEY_LENGTH) {
      throw new TypeError(
        `Cannot ${action} in the storage of plugin "${plugin}": keys are 1 to ${MAX_PLUGIN_KEY_LENGTH} characters`,
      );
    }
    return key;
  };
  return Object.freeze({
    get(key: string): JsonValue | undefined {
      const text = store.pluginValue(plugin, checkKey(key, "read a value"));
      return text === undefined ? undefined : JSON.parse(text);
    },
    set(key: string, value: JsonValue): void {
      checkKey(key, "store a value");
      const text = JSON.stringify(value);
      if (text === undefined) {
        throw new TypeError(`Cannot store "${key}" for plugin "${plugin}": the value is not JSON`);
      }
      if (new TextEncoder().encode(text).length > MAX_PLUGIN_VALUE_BYTES) {
        throw new RangeError(
          `Cannot store "${key}" for plugin "${plugin}": the value is over ${MAX_PLUGIN_VALUE_BYTES} bytes as JSON`,
        );
      }
      store.setPluginValue(plugin, key, text);
    },
    delete(key: string): void {
      store.deletePluginValue(plugin, checkKey(key, "delete a value"));
    },
    keys(prefix = "", limit = DEFAULT_KEYS_LIMIT): string[] {
      if (typeof prefix !== "string") {
        throw new TypeError(`Cannot list keys of plugin "${plugin}": the prefix is not a string`);
      }
      return store.pluginKeys(plugin, prefix, Math.max(0, Math.min(DEFAULT_KEYS_LIMIT, limit)));
    },
  });
}
