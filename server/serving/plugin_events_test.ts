// Tests of the plugins' event bus: delivery by kind, contained failures, unknown kinds, forgetting.

import assert from "node:assert/strict";
import type { UserServices } from "../../protocol/plugin.ts";
import { createLogger, type LogRecord } from "../log.ts";
import { EventBus } from "./plugin_events.ts";

const NO_SERVICES = () => ({}) as UserServices;

Deno.test("EventBus runs each handler of a kind and contains what they throw", async (t) => {
  const logs: LogRecord[] = [];
  const bus = new EventBus(createLogger("debug", (r) => logs.push(r)));
  const seen: string[] = [];
  bus.on("a", "login", (e) => void seen.push(`a:${e.login}`));
  bus.on("b", "login", () => {
    throw new Error("sync boom");
  });
  bus.on("c", "login", () => Promise.reject(new Error("async boom")));
  bus.on("d", "login", (e) => void seen.push(`d:${e.login}`));
  bus.on("e", "logout", () => void seen.push("logout"));

  await t.step("every login handler runs, in order, and logout's does not", async () => {
    bus.emit("login", { login: "alice", session: "s1", first: true }, NO_SERVICES);
    assert.deepEqual(seen, ["a:alice", "d:alice"]);
    await Promise.resolve();
  });
  await t.step("sync and async failures are logged as plugin_failed with the plugin", () => {
    const failed = logs.filter((r) => r.event === "plugin_failed");
    assert.deepEqual(failed.map((r) => [r.fields.plugin, r.fields.event]), [
      ["b", "login"],
      ["c", "login"],
    ]);
  });
  await t.step("the event is frozen", () => {
    const event = { login: "bob", session: "s2", first: false };
    bus.emit("login", event, NO_SERVICES);
    assert.ok(Object.isFrozen(event));
  });
  await t.step("forget() drops one plugin's handlers", () => {
    seen.length = 0;
    bus.forget("a");
    bus.emit("login", { login: "carol", session: "s3", first: true }, NO_SERVICES);
    assert.deepEqual(seen, ["d:carol"]);
  });
});

Deno.test("EventBus.on() refuses an unknown kind and a handler that is no function", () => {
  const bus = new EventBus(createLogger("debug", () => {}));
  assert.throws(
    () => bus.on("a", "logon" as "login", () => {}),
    /Cannot subscribe to "logon": no such event; events are login, logout/,
  );
  assert.throws(() => bus.on("a", "login", 5 as never), /the handler is not a function/);
  assert.equal(bus.has("login"), false);
});
