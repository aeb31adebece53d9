// Tests of a plugin's key-value storage over the SQLite store: JSON values, isolation, limits.

import assert from "node:assert/strict";
import { MAX_PLUGIN_KEY_LENGTH, MAX_PLUGIN_VALUE_BYTES, pluginStorage } from "./plugin_storage.ts";
import { openSqliteStore } from "./store/sqlite.ts";

Deno.test("pluginStorage() keeps JSON values per plugin, within its limits", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "chatz-storage-" });
  const store = openSqliteStore(dir);
  try {
    const seen = pluginStorage(store, "seen");
    const other = pluginStorage(store, "other");
    await t.step("values come back as stored", () => {
      seen.set("alice", { at: 5, where: ["public", null], ok: true });
      assert.deepEqual(seen.get("alice"), { at: 5, where: ["public", null], ok: true });
      assert.equal(other.get("alice"), undefined);
      assert.deepEqual(seen.keys(), ["alice"]);
      seen.delete("alice");
      assert.equal(seen.get("alice"), undefined);
    });
    await t.step("keys and values over their limits are refused", () => {
      assert.throws(() => seen.set("", 1), /keys are 1 to 200 characters/);
      assert.throws(() => seen.set("k".repeat(MAX_PLUGIN_KEY_LENGTH + 1), 1), /keys are 1 to/);
      assert.throws(
        () => seen.set("big", "x".repeat(MAX_PLUGIN_VALUE_BYTES)),
        /over 65536 bytes as JSON/,
      );
      assert.throws(() => seen.set("fn", (() => 1) as never), /the value is not JSON/);
      assert.throws(() => seen.set("n", 1n as never), /BigInt/);
    });
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
