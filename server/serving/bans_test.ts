// Tests of the ban list: login bans, address ranges in both IP families, expiry.

import assert from "node:assert/strict";
import { BanList, parseAddressRange } from "./bans.ts";

const T0 = 1_700_000_000_000;
const base = { reason: "", by: "operator", created: T0 };

Deno.test("parseAddressRange() canonicalizes addresses and ranges and refuses the rest", () => {
  assert.equal(parseAddressRange("203.0.113.0/24"), "203.0.113.0/24");
  assert.equal(parseAddressRange("203.0.113.7"), "203.0.113.7/32");
  assert.equal(parseAddressRange("2001:db8::/32"), "2001:db8::/32");
  assert.equal(parseAddressRange("::ffff:10.1.2.3"), "10.1.2.3/32");
  assert.equal(parseAddressRange("203.0.113.0/33"), undefined);
  assert.equal(parseAddressRange("bob"), undefined);
  assert.equal(parseAddressRange(""), undefined);
});

Deno.test("BanList.address() matches ranges in both families, until they expire", () => {
  const bans = new BanList([
    { ...base, kind: "address", target: "203.0.113.0/24", expires: T0 + 1000 },
    { ...base, kind: "address", target: "2001:db8::/32" },
  ]);
  assert.equal(bans.address("203.0.113.9", T0)?.target, "203.0.113.0/24");
  assert.equal(bans.address("::ffff:203.0.113.9", T0)?.target, "203.0.113.0/24", "mapped IPv4");
  assert.equal(bans.address("203.0.114.1", T0), undefined);
  assert.equal(bans.address("203.0.113.9", T0 + 1000), undefined, "expired");
  assert.equal(bans.address("2001:db8:1::5", T0)?.target, "2001:db8::/32");
  assert.equal(bans.address("2001:db9::5", T0), undefined);
  assert.equal(bans.address("not an address", T0), undefined);
  assert.equal(bans.remove("address", "2001:db8::/32"), true);
  assert.equal(bans.address("2001:db8:1::5", T0), undefined);
});

Deno.test("BanList.login() finds a login ban until it expires or is lifted", () => {
  const bans = new BanList();
  bans.add({ ...base, kind: "login", target: "mallory", expires: T0 + 10 });
  assert.equal(bans.login("mallory", T0)?.target, "mallory");
  assert.equal(bans.login("mallory", T0 + 10), undefined);
  assert.deepEqual(bans.list(T0).map((b) => b.target), ["mallory"]);
  assert.equal(bans.remove("login", "mallory"), true);
  assert.equal(bans.login("mallory", T0), undefined);
});

Deno.test("BanList.replace() takes the store's bans and tells whether they changed", () => {
  const bans = new BanList([{ ...base, kind: "login", target: "mallory" }]);
  assert.equal(bans.replace([{ ...base, kind: "login", target: "mallory" }], T0), false);
  assert.equal(bans.replace([{ ...base, kind: "address", target: "10.0.0.0/8" }], T0), true);
  assert.equal(bans.login("mallory", T0), undefined);
  assert.equal(bans.address("10.1.2.3", T0)?.target, "10.0.0.0/8");
});
