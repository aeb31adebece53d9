// Tests of the in-memory group table: creation, membership in join order and owner hand-over.
// Accounts are passed as name keys, as the chat core does.

import assert from "node:assert/strict";
import { GroupTable } from "./groups.ts";

const ALICE = { key: "alice", login: "Alice" };

Deno.test("groups.create() makes the owner the first member", () => {
  const table = new GroupTable();
  const group = table.create("Ops", ALICE, 1000);
  assert.equal(group.key, "ops");
  assert.equal(group.name, "Ops");
  assert.equal(group.ownerKey, "alice");
  assert.equal(group.owner, "Alice");
  assert.equal(group.created, 1000);
  assert.deepEqual([...group.members], [["alice", "Alice"]]);
  assert.equal(table.size, 1);
  assert.deepEqual(table.groupsOf("alice").map((g) => g.name), ["Ops"]);
});

Deno.test("groups.get() finds a group whatever the case of its name", async (t) => {
  const table = new GroupTable();
  const group = table.create("Ops", ALICE, 0);
  await t.step("same case", () => assert.equal(table.get("Ops"), group));
  await t.step("lower case", () => assert.equal(table.get("ops"), group));
  await t.step("upper case", () => assert.equal(table.get("OPS"), group));
  await t.step("another name", () => assert.equal(table.get("opsx"), undefined));
});

Deno.test("groups.list() returns every group sorted by name", () => {
  const table = new GroupTable();
  table.create("zeta", ALICE, 0);
  table.create("Alpha", ALICE, 0);
  table.create("mid", ALICE, 0);
  assert.deepEqual(table.list().map((g) => g.name), ["Alpha", "mid", "zeta"]);
});

Deno.test("groups.addMember() keeps members in join order and indexes them", () => {
  const table = new GroupTable();
  const ops = table.create("ops", ALICE, 0);
  const dev = table.create("dev", ALICE, 0);
  table.addMember(ops, "carol", "Carol");
  table.addMember(ops, "bob", "Bob");
  table.addMember(dev, "bob", "Bob");
  assert.deepEqual([...ops.members.keys()], ["alice", "carol", "bob"]);
  assert.deepEqual(table.groupsOf("bob").map((g) => g.name), ["dev", "ops"]);
  assert.deepEqual(table.groupsOf("carol").map((g) => g.name), ["ops"]);
  assert.deepEqual(table.groupsOf("nobody"), []);
});

Deno.test("groups.removeMember() removes a member who is not the owner", () => {
  const table = new GroupTable();
  const ops = table.create("ops", ALICE, 0);
  table.addMember(ops, "bob", "Bob");
  assert.deepEqual(table.removeMember(ops, "bob"), { deleted: false });
  assert.deepEqual([...ops.members.keys()], ["alice"]);
  assert.equal(ops.ownerKey, "alice");
  assert.deepEqual(table.groupsOf("bob"), []);
  assert.equal(table.get("ops"), ops);
});

Deno.test("groups.removeMember() hands a departing owner's group to the longest-standing member", async (t) => {
  const table = new GroupTable();
  const ops = table.create("ops", ALICE, 0);
  table.addMember(ops, "bob", "Bob");
  table.addMember(ops, "carol", "Carol");
  table.addMember(ops, "dave", "Dave");

  await t.step("the first to join after the owner takes over", () => {
    const outcome = table.removeMember(ops, "alice");
    assert.deepEqual(outcome, { deleted: false, newOwner: { key: "bob", login: "Bob" } });
    assert.equal(ops.ownerKey, "bob");
    assert.equal(ops.owner, "Bob");
    assert.deepEqual(table.groupsOf("alice"), []);
  });
  await t.step("a member who left and came back lines up behind the others", () => {
    table.removeMember(ops, "carol");
    table.addMember(ops, "carol", "Carol");
    const outcome = table.removeMember(ops, "bob");
    assert.deepEqual(outcome.newOwner, { key: "dave", login: "Dave" });
  });
});

Deno.test("groups.removeMember() deletes the group when its last member leaves", () => {
  const table = new GroupTable();
  const ops = table.create("ops", ALICE, 0);
  table.create("dev", ALICE, 0);
  assert.deepEqual(table.removeMember(ops, "alice"), { deleted: true });
  assert.equal(table.get("ops"), undefined);
  assert.equal(table.size, 1);
  assert.deepEqual(table.groupsOf("alice").map((g) => g.name), ["dev"]);
  assert.deepEqual(table.list().map((g) => g.name), ["dev"]);
});

Deno.test("groups.clear() forgets every group and membership", () => {
  const table = new GroupTable();
  const ops = table.create("ops", ALICE, 0);
  table.addMember(ops, "bob", "Bob");
  table.clear();
  assert.equal(table.size, 0);
  assert.equal(table.get("ops"), undefined);
  assert.deepEqual(table.groupsOf("alice"), []);
  assert.deepEqual(table.groupsOf("bob"), []);
});
