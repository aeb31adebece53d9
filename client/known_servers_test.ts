// Unit tests of the known-servers file: where it lives, how it parses, how a key is remembered.
// Files go to a temporary folder; nothing touches the user's own configuration.

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  knownServersPath,
  lookupKnownServer,
  parseKnownServers,
  rememberServer,
} from "./known_servers.ts";

const KEY_A = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
const KEY_B = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";

Deno.test("knownServersPath() prefers CHATZ_CONFIG_DIR, then XDG_CONFIG_HOME, then HOME", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  assert.equal(
    knownServersPath(env({ CHATZ_CONFIG_DIR: "/c", XDG_CONFIG_HOME: "/x", HOME: "/h" })),
    "/c/known_servers",
  );
  assert.equal(
    knownServersPath(env({ XDG_CONFIG_HOME: "/x", HOME: "/h" })),
    "/x/chatz/known_servers",
  );
  assert.equal(
    knownServersPath(env({ CHATZ_CONFIG_DIR: "", HOME: "/h" })),
    "/h/.config/chatz/known_servers",
  );
  assert.throws(() => knownServersPath(env({})), /Cannot find the known-servers file/);
});

Deno.test("parseKnownServers() reads ENDPOINT KEY lines and skips the rest", () => {
  const text = [
    "# servers I trust",
    "",
    `tcp://a:5555 ${KEY_A}`,
    `  tcp://b:5555\t${KEY_B}  `,
    "tcp://lonely:5555",
    `tcp://c:5555 ${KEY_A} extra`,
  ].join("\n");
  assert.deepEqual(parseKnownServers(text), [
    { endpoint: "tcp://a:5555", key: KEY_A },
    { endpoint: "tcp://b:5555", key: KEY_B },
  ]);
});

Deno.test("rememberServer() creates a private file and replaces an endpoint's old line", async (t) => {
  const root = await Deno.makeTempDir({ prefix: "chatz-known-" });
  const path = join(root, "config", "known_servers");
  try {
    await t.step("lookupKnownServer() finds nothing in a missing file", () => {
      assert.equal(lookupKnownServer(path, "tcp://a:5555"), undefined);
    });
    await t.step("the folder is created 0700 and the file 0600", () => {
      rememberServer(path, "tcp://a:5555", KEY_A);
      assert.equal(Deno.statSync(join(root, "config")).mode! & 0o777, 0o700);
      assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
      assert.equal(Deno.readTextFileSync(path), `tcp://a:5555 ${KEY_A}\n`);
      assert.equal(lookupKnownServer(path, "tcp://a:5555"), KEY_A);
    });
    await t.step("other lines and comments stay; the endpoint's line is replaced", () => {
      Deno.writeTextFileSync(path, `# mine\ntcp://b:5555 ${KEY_B}\n`, { append: true });
      rememberServer(path, "tcp://a:5555", KEY_B);
      assert.equal(
        Deno.readTextFileSync(path),
        `# mine\ntcp://b:5555 ${KEY_B}\ntcp://a:5555 ${KEY_B}\n`,
      );
      assert.equal(lookupKnownServer(path, "tcp://a:5555"), KEY_B);
      assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
    });
    await t.step("an endpoint with whitespace is refused", () => {
      assert.throws(() => rememberServer(path, "tcp://a b:1", KEY_A), /Cannot remember server/);
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
