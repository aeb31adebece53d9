// Failed logins and registrations counted per network address (issue #11 item 3) against a real
// encrypted `chatz serve`: loopback addresses 127.0.0.2 and up stand for other machines.

import assert from "node:assert/strict";
import { curveKeyPair } from "zeromq";
import { startServerProcess } from "./harness.ts";
import { type RawPeer, rawPeer, request } from "./raw_peer.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** Wrong guesses the attacker tries, each on a fresh connection from one address. */
const GUESSES = 40;
/** Failures an address makes before any wait (server/serving/throttle.ts ADDRESS_POLICY). */
const ADDRESS_FREE_FAILURES = 10;
/** Other accounts the attacker's guesses go round, so no one account's own wait comes first. */
const SPRAYED = 10;
/** Failures of one account from one address before any wait (TARGET_POLICY). */
const TARGET_FREE_FAILURES = 3;
/** Registrations per minute the registration test allows one address. */
const REGISTRATIONS = 3;

/**
 * The most wrong passwords ADDRESS_POLICY lets one address have checked within `elapsedMs`: the
 * free ones, one more at once, then one per doubling wait (1 s, 2 s, 4 s …) that fits.
 */
function guessBound(elapsedMs: number): number {
  return ADDRESS_FREE_FAILURES + 1 + Math.floor(Math.log2(elapsedMs / 1000 + 1));
}

Deno.test(
  "one address cannot guess fast however many connections it opens; others still get in",
  opts,
  async (t) => {
    const server = await startServerProcess();
    const peers: RawPeer[] = [];
    const open = (source: string) => {
      const peer = rawPeer(server.endpoint, { source });
      peers.push(peer);
      return peer;
    };
    const login = (peer: RawPeer, fields: Record<string, unknown>) =>
      request(peer, { op: "login", login: "alice", ...fields });
    try {
      const first = await login(open("127.0.0.2"), { password: "pw-alice" });
      assert.equal(first.ok, true, JSON.stringify(first));
      const token = (first.data as { token: string }).token;
      const logins = ["alice"];
      for (let i = 0; i < SPRAYED; i++) {
        const name = `user${i}`;
        const made = await request(open("127.0.0.2"), { op: "login", login: name, password: "pw" });
        assert.equal(made.ok, true, JSON.stringify(made));
        logins.push(name);
      }

      await t.step("the attacker is throttled while the owner gets in elsewhere", async () => {
        const codes: string[] = [];
        let throttledMessage = "";
        let throttledOnce: () => void = () => {};
        const attackerWaits = new Promise<void>((resolve) => throttledOnce = resolve);
        const started = performance.now();
        const attack = async () => {
          for (let i = 0; i < GUESSES; i++) {
            const reply = await request(open("127.0.0.1"), {
              op: "login",
              login: logins[i % logins.length],
              password: `guess-${i}`,
            });
            codes.push(String(reply.code));
            if (reply.code === "login_throttled") {
              throttledMessage = String(reply.message);
              throttledOnce();
            }
          }
          throttledOnce(); // never throttled: the assertions below say so
        };
        // While the attacker's address waits, the owner logs in from two others.
        const owner = async () => {
          await attackerWaits;
          const byPassword = await login(open("127.0.0.2"), { password: "pw-alice" });
          assert.equal(byPassword.ok, true, JSON.stringify(byPassword));
          const byToken = await login(open("127.0.0.3"), { token });
          assert.equal(byToken.ok, true, JSON.stringify(byToken));
        };
        await Promise.all([attack(), owner()]);
        const elapsed = performance.now() - started;
        const checked = codes.filter((c) => c === "wrong_password").length;
        const throttled = codes.filter((c) => c === "login_throttled").length;
        assert.equal(checked + throttled, GUESSES, `only these two answers: ${codes}`);
        assert.ok(
          checked <= guessBound(elapsed),
          `${checked} guesses checked in ${Math.round(elapsed)} ms, at most ${guessBound(elapsed)}`,
        );
        assert.ok(checked >= ADDRESS_FREE_FAILURES, `the free failures are checked: ${codes}`);
        // Whether the right password waits there too depends on when it comes: the broker tests
        // show it with a frozen clock (server/serving/broker_test.ts).
        assert.match(throttledMessage, /from this address; retry in \d+ s/);
      });

      await t.step("guesses at one account from one address wait after 3", async () => {
        // Before the address's own 10 free failures run out, the login at that address waits: 3
        // free, then 1 s doubling, so within 10 tries one meets a wait, however slow the machine.
        const codes: string[] = [];
        for (let i = 0; i < ADDRESS_FREE_FAILURES && !codes.includes("login_throttled"); i++) {
          codes.push(String((await login(open("127.0.0.7"), { password: `try-${i}` })).code));
        }
        assert.deepEqual(
          codes.slice(0, TARGET_FREE_FAILURES + 1),
          Array(TARGET_FREE_FAILURES + 1).fill("wrong_password"),
        );
        assert.equal(codes.at(-1), "login_throttled", `a wait before the address's: ${codes}`);
        const owner = await login(open("127.0.0.2"), { password: "pw-alice" });
        assert.equal(owner.ok, true, "the account itself never waits");
      });

      await t.step("a valid token passes even the attacker's address's wait", async () => {
        const reply = await login(open("127.0.0.1"), { token });
        assert.equal(reply.ok, true, JSON.stringify(reply));
      });

      await t.step("a refused login's log line names the peer and the address", async () => {
        await server.log.waitFor(
          (l) =>
            / WARN login_refused login=alice peer=[0-9a-f]{10} address=127\.0\.0\.1 reason=wrong_password/
              .test(l),
          "a refused login logged with its address",
        );
        // Asking a person to confirm a new account is no failure: logged, but not as a warning.
        const asked = await request(open("127.0.0.5"), {
          op: "login",
          login: "newcomer",
          password: "pw",
          register: false,
        });
        assert.equal(asked.code, "new_account", JSON.stringify(asked));
        await server.log.waitFor(
          (l) => / INFO login_refused login=newcomer .*reason=new_account/.test(l),
          "the new account's question logged at info",
        );
      });

      await t.step("a login naming a key the server never saw is refused", async () => {
        const stranger = await login(open("127.0.0.4"), {
          password: "pw-alice",
          key: curveKeyPair().publicKey,
        });
        assert.equal(stranger.code, "unknown_key", JSON.stringify(stranger));
        assert.match(String(stranger.message), /re-dial and log in again/);
        const keyless = await login(open("127.0.0.4"), { password: "pw-alice", key: undefined });
        assert.equal(keyless.code, "bad_request", JSON.stringify(keyless));
        assert.match(String(keyless.message), /must carry `key`/);
      });
    } finally {
      await Promise.all(peers.map((p) => p.close()));
      await server.stop();
    }
  },
);

Deno.test("one address registers at most --registrations-per-minute accounts", opts, async () => {
  const server = await startServerProcess({
    args: ["--registrations-per-minute", String(REGISTRATIONS)],
  });
  const peers: RawPeer[] = [];
  const register = (source: string, login: string) => {
    const peer = rawPeer(server.endpoint, { source });
    peers.push(peer);
    return request(peer, { op: "login", login, password: `pw-${login}` });
  };
  try {
    for (let i = 0; i < REGISTRATIONS; i++) {
      const made = await register("127.0.0.5", `made${i}`);
      assert.equal(made.ok, true, JSON.stringify(made));
    }
    const over = await register("127.0.0.5", "onetoomany");
    assert.equal(over.code, "rate_limited", JSON.stringify(over));
    assert.match(String(over.message), /too many accounts registered from this address/);
    const elsewhere = await register("127.0.0.6", "elsewhere");
    assert.equal(elsewhere.ok, true, "another address registers");
  } finally {
    await Promise.all(peers.map((p) => p.close()));
    await server.stop();
  }
});

Deno.test(
  "a --no-curve server counts failures per address too, from each connection's socket",
  opts,
  async () => {
    const server = await startServerProcess({ plaintext: true });
    const peers: RawPeer[] = [];
    const login = (source: string, password: string) => {
      const peer = rawPeer(server.endpoint, { source });
      peers.push(peer);
      return request(peer, { op: "login", login: "pat", password });
    };
    try {
      assert.equal((await login("127.0.0.2", "pw-pat")).ok, true, "no key needed in clear");
      // Without a CURVE key the server still knows each connection's address: the socket its
      // messages came over (ZMQ_SRCFD). Guesses at pat from one address wait after 3.
      const codes: string[] = [];
      for (let i = 0; i < ADDRESS_FREE_FAILURES && !codes.includes("login_throttled"); i++) {
        codes.push(String((await login("127.0.0.1", `guess-${i}`)).code));
      }
      assert.deepEqual(
        codes.slice(0, TARGET_FREE_FAILURES + 1),
        Array(TARGET_FREE_FAILURES + 1).fill("wrong_password"),
      );
      assert.equal(codes.at(-1), "login_throttled", `fresh connections share the wait: ${codes}`);
      assert.equal((await login("127.0.0.3", "pw-pat")).ok, true, "the owner, elsewhere");
      await server.log.waitFor(
        (l) => / WARN login_refused login=pat peer=[0-9a-f]{10} address=127\.0\.0\.1 /.test(l),
        "the refusal logged with its address",
      );
    } finally {
      await Promise.all(peers.map((p) => p.close()));
      await server.stop();
    }
  },
);
