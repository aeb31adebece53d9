// Tests of the group table that reads the store on a miss, the shared-state contract included.
// A real SQLite store plays the shared database; tests/cluster_test.ts runs it between real nodes.

import assert from "node:assert/strict";
import { GroupTable } from "../groups.ts";
import { runSharedStateContract } from "../shared_state_contract.ts";
import { createLocalState } from "../local_state.ts";
import { openSqliteStore } from "../store/sqlite.ts";
import { readGroupsOnMiss } from "./group_reads.ts";

async function withStore(fn: (store: ReturnType<typeof openSqliteStore>) => void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "chatz_group_reads_test_" });
  const store = openSqliteStore(dir);
  try {
    fn(store);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

runSharedStateContract("reading groups on a miss", async (limits) => {
  const dir = await Deno.makeTempDir({ prefix: "chatz_group_reads_test_" });
  const store = openSqliteStore(dir);
  const state = createLocalState(limits);
  state.groups = readGroupsOnMiss(state.groups, store);
  return {
    state,
    close: async () => {
      store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
});

Deno.test("readGroupsOnMiss() finds a group that another writer stored after the table was read", async () => {
  await withStore((store) => {
    const groups = readGroupsOnMiss(new GroupTable(), store);
    assert.equal(groups.get("ops"), undefined, "nothing stored yet");
    // Another node's commit, as this node's store sees it.
    store.createGroup({ key: "ops", name: "Ops", ownerKey: "alice", created: 1 });
    store.addMember("ops", "alice", "Alice", 1);
    store.addMember("ops", "bob", "Bob", 2);
    store.commit();
    const ops = groups.get("OPS");
    assert.equal(ops?.name, "Ops");
    assert.deepEqual([...ops!.members.values()], ["Alice", "Bob"]);
    assert.deepEqual(groups.groupsOf("bob").map((g) => g.name), ["Ops"], "its members too");
  });
});
