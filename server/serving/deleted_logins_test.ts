// Tests of the deleted-login table: reservations and the authorship of old messages.

import assert from "node:assert/strict";
import { DeletedLoginTable } from "./deleted_logins.ts";

Deno.test("DeletedLoginTable tells reserved logins and deleted authors by message id", () => {
  const table = new DeletedLoginTable([
    { key: "bob", login: "Bob", deleted: 100, reservedUntil: 200, lastMessageId: 7 },
  ]);
  assert.equal(table.reservation("bob", 150)?.login, "Bob");
  assert.equal(table.reservation("bob", 200), undefined, "free again at its end");
  assert.equal(table.reservation("alice", 150), undefined);
  assert.equal(table.authorDeleted("BOB", 7), true, "case-insensitive, up to the last id");
  assert.equal(table.authorDeleted("bob", 8), false, "a new bob's message");
  table.add({ key: "bob", login: "bob", deleted: 300, reservedUntil: 400, lastMessageId: 12 });
  assert.equal(table.authorDeleted("bob", 10), true, "the second bob, deleted too");
  assert.equal(table.reservation("bob", 350)?.deleted, 300);
});

Deno.test("DeletedLoginTable.reload() takes the rows another node wrote", () => {
  const table = new DeletedLoginTable();
  table.reload([{ key: "eve", login: "eve", deleted: 1, reservedUntil: 100, lastMessageId: 3 }]);
  assert.equal(table.reservation("eve", 50)?.login, "eve");
  assert.equal(table.authorDeleted("eve", 3), true);
});
