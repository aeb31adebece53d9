// Attacks from the network against a real `chatz serve` (issue #11): routing ids chosen to crash the
// server or take a session over. Seeded, bounded and on loopback; each asserts the server stays up.

import assert from "node:assert/strict";
import { join } from "node:path";
import { Dealer } from "zeromq";
import { PROTOCOL_VERSION } from "../protocol/mod.ts";
import { connect } from "../client/connection.ts";
import {
  client,
  loginError,
  replyCode,
  replyData,
  type ServerProcess,
  startServerProcess,
  testCurve,
  testCurveOptions,
  WAIT_MS,
} from "./harness.ts";
import { type RawPeer, rawPeer, request } from "./raw_peer.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** Candidate start values of libzmq's routing-id counter planted around: the first calls of rand(). */
const COUNTER_CANDIDATES = 6;
/** Ids planted after each candidate: the ordinary connections below take at most this many. */
const PLANTED_PER_CANDIDATE = 4;
/** Ordinary connections opened after the planting; the first one collided on an unseeded counter. */
const ORDINARY_CONNECTIONS = 4;
/** A re-dial with a dropped connection's id until libzmq has let the old one go. */
const TAKEOVER_ATTEMPTS = 20;
/** How long one takeover attempt waits for an answer before it re-dials. */
const TAKEOVER_ATTEMPT_MS = 1000;

/** The values libzmq 4.3.5's generate_random() returns first in a process whose rand() nobody seeded. */
function unseededCounterStarts(count: number): number[] {
  const libc = Deno.dlopen("libc.so.6", {
    srand: { parameters: ["u32"], result: "void" },
    rand: { parameters: [], result: "i32" },
  });
  try {
    libc.symbols.srand(1); // glibc: an unseeded rand() behaves as after srand(1)
    return Array.from({ length: count }, () => {
      const low = libc.symbols.rand();
      const high = libc.symbols.rand();
      return ((high << 31) | low) >>> 0;
    });
  } finally {
    libc.close();
  }
}

/** libzmq's auto-generated routing id for a counter value: a zero byte and the value big-endian. */
function autoId(counter: number): Uint8Array {
  const id = new Uint8Array(5);
  new DataView(id.buffer).setUint32(1, counter >>> 0);
  return id;
}

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g)!, (b) => parseInt(b, 16));
}

/** Runs a test step; when it fails, prints the server's last log lines with the error. */
async function step(
  t: Deno.TestContext,
  server: ServerProcess | undefined,
  name: string,
  fn: () => Promise<void>,
): Promise<void> {
  await t.step(name, async () => {
    try {
      await fn();
    } catch (error) {
      if (server) {
        console.error(`Step failed: ${name}; the server's log ends with:`);
        console.error(server.log.items.slice(-8).join("\n"));
      }
      throw error;
    }
  });
}

/** Fails the test if the server process exits while `work` runs. */
async function whileUp<T>(server: ServerProcess, work: Promise<T>): Promise<T> {
  const exited = server.status.then((s) => {
    throw new Error(
      `The server exited (code ${s.code}, signal ${s.signal}):\n` +
        server.log.items.slice(-5).join("\n"),
    );
  });
  return await Promise.race([work, exited]);
}

Deno.test(
  "routing ids chosen by clients neither take sessions over nor crash the server",
  opts,
  async (t) => {
    const server = await startServerProcess();
    const peers: RawPeer[] = [];
    const open = (routingId?: Uint8Array) => {
      const peer = rawPeer(server.endpoint, routingId ? { routingId } : {});
      peers.push(peer);
      return peer;
    };
    try {
      await step(
        t,
        server,
        "ids planted ahead of the routing-id counter do not crash the server",
        async () => {
          const planted = unseededCounterStarts(COUNTER_CANDIDATES).flatMap((start) =>
            Array.from({ length: PLANTED_PER_CANDIDATE }, (_, i) => open(autoId(start + i)))
          );
          // First on a fresh server: no id is in use, and the counter is still at its start value.
          // Every planted connection is up once it is answered on its own id.
          await whileUp(server, Promise.all(planted.map((p) => request(p, { op: "ping" }))));
          const ordinary = Array.from({ length: ORDINARY_CONNECTIONS }, () => open());
          await whileUp(server, Promise.all(ordinary.map((p) => request(p, { op: "ping" }))));
          const bob = await whileUp(server, client(server.endpoint, "bob"));
          assert.equal((await bob.cmd("list")).ok, true);
          await bob.close();
        },
      );
      await step(
        t,
        server,
        "a dropped connection's routing id does not inherit its session",
        async () => {
          const victim = open();
          const login = await request(victim, {
            op: "login",
            login: "victim",
            password: "pw-victim",
          });
          assert.equal(login.ok, true);
          const line = await server.log.waitFor(
            (l) => / INFO login login=victim session=/.test(l),
            "the victim's login in the log",
          );
          // The log stands in for a scan of the id space: the attacker is given the id outright.
          const id = hexBytes(/session=([0-9a-f]+)/.exec(line)![1]);
          const friend = await client(server.endpoint, "friend");
          await victim.close(); // no logout: a crash or a network cut

          let attacker: RawPeer | undefined;
          let pong: Record<string, unknown> | undefined;
          for (let i = 0; i < TAKEOVER_ATTEMPTS && !pong; i++) {
            // While libzmq still holds the old connection it ignores a new one with the same id.
            attacker = open(id);
            pong = await whileUp(server, request(attacker, { op: "ping" }, TAKEOVER_ATTEMPT_MS))
              .catch(() => undefined);
            if (!pong) await attacker.close();
          }
          assert.ok(pong && attacker, "the attacker's connection was never answered");
          assert.deepEqual(
            pong.data,
            { session: false },
            "the ping answered as the victim's session",
          );
          const sent = await friend.cmd("msg", "victim change of plan");
          assert.equal(sent.ok, true);
          const asVictim = await request(attacker, { op: "cmd", cmd: "msg", args: "friend hi" });
          assert.equal(asVictim.code, "not_logged_in");
          assert.equal(
            attacker.received.items.find((m) =>
              (m as { type?: string } | null)?.type === "message"
            ),
            undefined,
            "the attacker received the victim's direct message",
          );
          await friend.close();
        },
      );

      await step(t, server, "ids libzmq would never give are refused", async () => {
        const mallory = open(new TextEncoder().encode("mallory"));
        const reply = await whileUp(
          server,
          request(mallory, { op: "login", login: "mallory", password: "pw-mallory" }),
        );
        assert.equal(reply.code, "routing_id_refused");
      });
    } finally {
      await Promise.all(peers.map((p) => p.close().catch(() => {})));
      await server.stop();
    }
  },
);

/** Frames of 1 MiB each flooding connection keeps in flight: far over what the server may queue. */
const FLOOD_IN_FLIGHT = 64;
/** Rounds of FLOOD_IN_FLIGHT frames each flooding connection sends. */
const FLOOD_ROUNDS = 4;
/** Connections that flood without logging in. */
const FLOODERS = 4;
/**
 * Peak resident memory the server may reach while 4 connections flood it, over its peak before:
 * libzmq queues at most RECEIVE_QUEUE_FRAMES (8) frames of at most 1 MiB per connection, and the
 * server decodes one at a time. Before the bound, 4 such connections took it past 3.6 GB.
 */
const FLOOD_PEAK_GROWTH_KIB = 192 * 1024;

/** A process's peak resident memory in KiB (VmHWM), read from /proc through `cat`. */
async function peakRssKiB(pid: number): Promise<number> {
  const out = await new Deno.Command("cat", { args: [`/proc/${pid}/status`] }).output();
  const kib = Number(/VmHWM:\s+(\d+) kB/.exec(new TextDecoder().decode(out.stdout))?.[1]);
  if (!out.success || !Number.isFinite(kib)) throw new Error(`Cannot read VmHWM of ${pid}`);
  return kib;
}

Deno.test(
  "connections that flood without logging in leave memory bounded and others served",
  opts,
  async () => {
    const server = await startServerProcess();
    const flooders: RawPeer[] = [];
    try {
      const carol = await client(server.endpoint, "carol");
      const before = await peakRssKiB(server.child.pid);
      // Undecodable 1 MiB bodies: each costs the server a read and an error event, nothing more.
      const garbage = new Uint8Array(1024 * 1024).fill(0x78);
      for (let i = 0; i < FLOODERS; i++) flooders.push(rawPeer(server.endpoint));
      const flood = Promise.all(flooders.map(async (peer) => {
        for (let round = 1; round <= FLOOD_ROUNDS; round++) {
          for (let i = 0; i < FLOOD_IN_FLIGHT; i++) peer.send([PROTOCOL_VERSION, garbage]);
          await peer.received.waitFor(
            () => peer.received.items.length >= round * FLOOD_IN_FLIGHT,
            `round ${round} of the flood answered`,
            WAIT_MS * 6,
          );
        }
      }));
      // Carol is served while the flood runs.
      for (let i = 0; i < 5; i++) {
        const reply = await whileUp(server, carol.cmd("list"));
        assert.equal(reply.ok, true);
      }
      await whileUp(server, flood);
      const peak = await peakRssKiB(server.child.pid);
      console.log(`server peak RSS ${before} KiB before the flood, ${peak} KiB after`);
      assert.ok(peak - before < FLOOD_PEAK_GROWTH_KIB, `peak RSS grew by ${peak - before} KiB`);
      // Dropping the flooders while their error events are queued once aborted libzmq.
      await Promise.all(flooders.map((p) => p.close()));
      flooders.length = 0;
      assert.equal((await whileUp(server, carol.cmd("list"))).ok, true);
      await carol.close();
    } finally {
      await Promise.all(flooders.map((p) => p.close().catch(() => {})));
      await server.stop();
    }
  },
);

/** Sessions that ask for big replies and never read them. */
const NON_READERS = 10;
/** `/history public 500` requests each non-reader sends: about 600 kB of reply each. */
const HISTORY_REQUESTS = 80;
/** Public messages of about 3.9 kB each: `/history public 500` returns the newest 512 Ki characters. */
const PUBLIC_MESSAGES = 500;
/**
 * Peak resident memory the non-readers may add: the server queues at most 16 frames for one session
 * (here replies of about 600 kB: 10 MB; 10 sessions: 100 MB), makes at most 16 Mi characters of
 * output in one turn, and ends a session whose reply it could not queue. Measured: +220 to +330 MiB,
 * most of it the garbage of 10 × 80 page reads before V8 collects it (more on a loaded machine,
 * where collection runs later). Before the bound all 48 MB asked by each (480 MB) stayed queued on
 * top of that garbage; in the review 10 such sessions took the server to 3.5 GB.
 */
const NON_READER_PEAK_GROWTH_KIB = 448 * 1024;

/** A DEALER that logs in but never reads: what it is sent stays queued. */
async function nonReader(server: ServerProcess, login: string): Promise<Dealer> {
  const curve = testCurveOptions(server.endpoint);
  const socket = new Dealer({
    linger: 0,
    receiveHighWaterMark: 1,
    receiveBufferSize: 4096,
    ...curve,
  });
  socket.connect(server.endpoint);
  const key = "curvePublicKey" in curve ? curve.curvePublicKey : undefined;
  const request = { op: "login", id: 1, login, password: `pw-${login}`, key };
  await socket.send([PROTOCOL_VERSION, JSON.stringify([request])]);
  await server.log.waitFor((l) => l.includes(` INFO login login=${login} `), `${login} logged in`);
  return socket;
}

Deno.test(
  "sessions that never read their replies leave memory bounded and others served",
  opts,
  async () => {
    const server = await startServerProcess();
    const sockets: Dealer[] = [];
    try {
      const writer = await client(server.endpoint, "writer");
      const text = "w".repeat(3900);
      for (let i = 0; i < PUBLIC_MESSAGES; i += 50) {
        await Promise.all(Array.from({ length: 50 }, () => writer.cmd("say", text)));
      }
      // Logged in first: password hashing has its own memory bound (passwords.ts).
      for (let i = 0; i < NON_READERS; i++) sockets.push(await nonReader(server, `sloth${i}`));
      const before = await peakRssKiB(server.child.pid);
      const history = { op: "cmd", cmd: "history", args: `public ${PUBLIC_MESSAGES}` };
      for (const socket of sockets) {
        for (let id = 2; id < 2 + HISTORY_REQUESTS; id++) {
          await socket.send([PROTOCOL_VERSION, JSON.stringify([{ ...history, id }])]);
        }
      }
      // Each non-reader's session ends once a reply cannot be queued for it.
      for (let i = 0; i < NON_READERS; i++) {
        await whileUp(
          server,
          server.log.waitFor(
            (l) => l.includes(`logout login=sloth${i} `) && /reason=(too_slow|over_budget)/.test(l),
            `sloth${i}'s session ended as too slow`,
            WAIT_MS * 3,
          ),
        );
      }
      assert.equal((await whileUp(server, writer.cmd("list"))).ok, true);
      const peak = await peakRssKiB(server.child.pid);
      console.log(`server peak RSS ${before} KiB before the non-readers, ${peak} KiB after`);
      assert.ok(
        peak - before < NON_READER_PEAK_GROWTH_KIB,
        `peak RSS grew by ${peak - before} KiB`,
      );
      await writer.close();
    } catch (error) {
      console.error(`The server's log ends with:\n${server.log.items.slice(-20).join("\n")}`);
      throw error;
    } finally {
      for (const socket of sockets) socket.close();
      await server.stop();
    }
  },
);

/** Wrong passwords a stranger sends, each from a fresh connection. */
const STRANGER_GUESSES = 8;
/** Wrong passwords the stranger then sends on one connection: past the 3 free ones it waits. */
const SAME_CONNECTION_GUESSES = 5;

Deno.test("wrong guesses by a stranger never lock the owner out", opts, async () => {
  const server = await startServerProcess();
  const peers: RawPeer[] = [];
  // The stranger guesses from 127.0.0.1; the owner comes from 127.0.0.2, another address.
  const open = (source?: string) => {
    const peer = rawPeer(server.endpoint, { source });
    peers.push(peer);
    return peer;
  };
  const login = (peer: RawPeer, fields: Record<string, unknown>) =>
    request(peer, { op: "login", login: "alice", ...fields });
  try {
    const first = await login(open("127.0.0.2"), { password: "pw-alice" });
    const token = (first.data as { token: string }).token;
    for (let i = 0; i < STRANGER_GUESSES; i++) {
      // Past the first guesses the stranger's address waits (tests/login_address_test.ts).
      const code = (await login(open(), { password: `guess-${i}` })).code;
      assert.ok(code === "wrong_password" || code === "login_throttled", String(code));
    }
    const mallory = open();
    const codes = [];
    for (let i = 0; i < SAME_CONNECTION_GUESSES; i++) {
      codes.push((await login(mallory, { password: `again-${i}` })).code);
    }
    assert.equal(codes.at(-1), "login_throttled", `the guessing connection waits: ${codes}`);
    assert.equal((await login(open("127.0.0.2"), { password: "pw-alice" })).ok, true, "password");
    assert.equal((await login(open("127.0.0.2"), { token })).ok, true, "the session token");
  } finally {
    await Promise.all(peers.map((p) => p.close()));
    await server.stop();
  }
});

/** Size of the small disk the full-disk test fills: room for the server's start and a few writes. */
const DISK_BYTES = 16 * 1024 * 1024;
/** Messages tried on the full disk until one fails to be stored. */
const FULL_DISK_TRIES = 200;
/** Connections made on the full disk, each a log line: more than the log file's last page holds. */
const FULL_DISK_LOG_LINES = 200;

/** Mounts a tmpfs of `bytes` (as root) and returns its path and how to remove it. */
async function smallDisk(bytes: number): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await Deno.makeTempDir({ prefix: "chatz-disk-" });
  const mount = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", `size=${bytes}`, "tmpfs", path],
  }).output();
  if (!mount.success) {
    throw new Error(`Cannot mount a tmpfs: ${new TextDecoder().decode(mount.stderr)}`);
  }
  return {
    path,
    async remove() {
      await new Deno.Command("umount", { args: ["-l", path] }).output();
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}

/** Fills a disk with one file until it is full; returns the file. Bounded by the disk's size. */
async function fillDisk(dir: string, bytes: number): Promise<string> {
  const path = `${dir}/filler`;
  const file = await Deno.open(path, { write: true, create: true });
  const chunk = new Uint8Array(64 * 1024);
  try {
    for (let i = 0; i <= bytes / chunk.length + 1; i++) await file.write(chunk);
    throw new Error("The disk did not fill up");
  } catch (error) {
    if (!(error instanceof Error) || !/No space left/.test(error.message)) throw error;
  } finally {
    file.close();
  }
  return path;
}

Deno.test({
  name: "a full disk ends neither the server nor its agreement with the store",
  // Mounting a small tmpfs needs root, as CI runs; elsewhere this test is skipped.
  ignore: Deno.uid() !== 0,
  ...opts,
  async fn(t) {
    const disk = await smallDisk(DISK_BYTES);
    let server = await startServerProcess({ dataDir: `${disk.path}/data` });
    try {
      const alice = await client(server.endpoint, "alice");
      const bob = await client(server.endpoint, "bob");
      let lastStored =
        replyData<{ id: number }>(await alice.cmd("msg", "bob before the disk filled"))
          .id;
      const filler = await fillDisk(disk.path, DISK_BYTES);

      await step(t, server, "the sender of what cannot be stored gets a coded error", async () => {
        let failed;
        for (let i = 0; i < FULL_DISK_TRIES && !failed; i++) {
          const reply = await whileUp(server, alice.cmd("say", `${i} ${"x".repeat(3900)}`));
          if (!reply.ok) failed = reply;
          else lastStored = replyData<{ id: number }>(reply).id;
        }
        assert.equal(failed?.ok === false && failed.code, "storage_failed");
        const group = await whileUp(server, alice.cmd("group", "create ghosts"));
        assert.equal(replyCode(group), "storage_failed");
        const groups = replyData<{ groups: { name: string }[] }>(await alice.cmd("group", "list"));
        assert.ok(!groups.groups.some((g) => g.name === "ghosts"), "a group only in memory");
      });

      await step(t, server, "log lines with no room are dropped and counted", async () => {
        // Fresh connections: each a `connect` log line, cheap to make (refused logins are logged
        // at most 10 a minute per address, so they would not fill the page).
        for (let i = 0; i < FULL_DISK_LOG_LINES; i++) {
          const prober = rawPeer(server.endpoint);
          try {
            const reply = await whileUp(server, request(prober, { op: "ping" }));
            assert.equal(reply.ok, true);
          } finally {
            await prober.close();
          }
        }
        await Deno.remove(filler);
        const sent = replyData<{ id: number }>(
          await whileUp(server, alice.cmd("msg", "bob space again")),
        );
        // Ids given out in a failed turn stay used (the Store contract): unique, never reused.
        assert.ok(sent.id > lastStored, `id ${sent.id} after ${lastStored}`);
        await bob.events.waitFor((e) => e.type === "message" && e.id === sent.id, "bob's message");
        // The next line logged (a refused login) comes after the count of those dropped.
        assert.equal(await loginError(server.endpoint, "alice", "no"), "wrong_password");
        await server.log.waitFor((l) => / log_lines_dropped lines=\d+/.test(l), "the drop noted");
        const file = await Deno.readTextFile(`${server.dataDir}/chatz.log`);
        assert.match(file, / log_lines_dropped lines=\d+/);
      });

      await step(t, server, "after a restart the store holds what memory held", async () => {
        await alice.close();
        await bob.close();
        assert.equal((await server.stop()).code, 0);
        server = await startServerProcess({ dataDir: server.dataDir });
        const carol = await client(server.endpoint, "carol");
        const groups = replyData<{ groups: { name: string }[] }>(await carol.cmd("group", "list"));
        assert.ok(!groups.groups.some((g) => g.name === "ghosts"));
        await carol.close();
      });
    } finally {
      await server.stop();
      await disk.remove();
    }
  },
});

Deno.test(
  "other local users can neither read the data folder nor plant plugins",
  opts,
  async (t) => {
    const base = await Deno.makeTempDir({ prefix: "chatz-modes-" });
    try {
      await step(t, undefined, "a data folder open to others is refused", async () => {
        const open = join(base, "open-data");
        await Deno.mkdir(open);
        await Deno.chmod(open, 0o755);
        await assert.rejects(
          startServerProcess({ dataDir: open }),
          /data folder ".*open-data" is open to other users \(mode 755\).*chmod 700/,
        );
      });
      await step(t, undefined, "what the server creates is its user's alone", async () => {
        const server = await startServerProcess({ dataDir: join(base, "data") });
        try {
          await (await client(server.endpoint, "alice")).close();
          for await (const entry of Deno.readDir(server.dataDir)) {
            const mode = (await Deno.stat(join(server.dataDir, entry.name))).mode! & 0o777;
            assert.equal(mode & 0o077, 0, `${entry.name} has mode ${mode.toString(8)}`);
          }
          assert.equal((await Deno.stat(server.dataDir)).mode! & 0o777, 0o700);
        } finally {
          await server.stop();
        }
      });
      await step(t, undefined, "a plugin folder others can write is refused", async () => {
        const plugins = join(base, "plugins");
        await Deno.mkdir(plugins);
        await Deno.chmod(plugins, 0o777);
        await assert.rejects(
          startServerProcess({ args: ["--plugins", plugins] }),
          /other users can write the folder \(mode 777\)/,
        );
      });
    } finally {
      await Deno.remove(base, { recursive: true });
    }
  },
);

/** Logins of one account in a row: past the burst of 60, one a second. */
const FLAPS = 70;

Deno.test(
  "one connection cannot mass-register, nor one account flap its presence",
  opts,
  async (t) => {
    const server = await startServerProcess();
    const peers: RawPeer[] = [];
    try {
      const peer = rawPeer(server.endpoint);
      peers.push(peer);
      await step(t, server, "a connection registers one account a minute", async () => {
        const first = await request(peer, { op: "login", login: "reg1", password: "pw-reg1" });
        assert.equal(first.ok, true);
        assert.equal((await request(peer, { op: "logout" })).ok, true);
        const second = await request(peer, { op: "login", login: "reg2", password: "pw-reg2" });
        assert.equal(second.code, "rate_limited");
        assert.match(String(second.message), /registered an account just now; retry in \d+ s/);
      });
      await step(t, server, "an account logging in and out in a loop is slowed down", async () => {
        const maker = rawPeer(server.endpoint);
        peers.push(maker);
        const made = await request(maker, { op: "login", login: "flap", password: "pw-flap" });
        const token = (made.data as { token: string }).token;
        const codes: (string | undefined)[] = [];
        for (let i = 0; i < FLAPS; i++) {
          // Each time a new connection that logs in by token and drops (a logout would revoke it).
          const flapper = rawPeer(server.endpoint);
          try {
            const again = await request(flapper, { op: "login", login: "flap", token });
            codes.push(again.ok ? "ok" : String(again.code));
          } finally {
            await flapper.close();
          }
        }
        assert.deepEqual(codes.slice(0, 50), Array(50).fill("ok"), "the burst is allowed");
        assert.ok(codes.includes("rate_limited"), `then slowed down: ${codes.slice(50)}`);
      });
    } finally {
      await Promise.all(peers.map((p) => p.close()));
      await server.stop();
    }
  },
);

/** Open connections one address may hold in the test below. */
const OPEN_PER_ADDRESS = 3;
/**
 * Fresh connections tried while the server lets a closed one go: it counts an address that looks
 * full at most every 100 ms, and each refused try is answered at once, in a few milliseconds.
 */
const READMIT_ATTEMPTS = 300;

Deno.test(
  "one address holds at most --connections-per-address open connections; other addresses still connect",
  opts,
  async (t) => {
    const server = await startServerProcess({
      args: ["--connections-per-address", String(OPEN_PER_ADDRESS)],
    });
    const peers: RawPeer[] = [];
    /** Opens a connection (from `source`) and tells whether the server admitted it. */
    const tryConnect = async (
      source = "127.0.0.1",
    ): Promise<{ peer: RawPeer; admitted: boolean }> => {
      const from = server.log.items.length;
      const refusal = new RegExp(
        `connect_refused address=${source.replaceAll(".", "\\.")} reason=open_connections`,
      );
      const peer = rawPeer(server.endpoint, { source });
      peers.push(peer);
      const answered = request(peer, { op: "ping" }).then(() => true);
      const refused = server.log.waitFor((l, i) => i >= from && refusal.test(l), "a refusal")
        .then(() => false);
      answered.catch(() => {});
      refused.catch(() => {});
      const admitted = await whileUp(server, Promise.race([answered, refused]));
      // A refused connection stays open until its handshake times out (10 s): counted meanwhile.
      if (!admitted) await peer.close();
      return { peer, admitted };
    };
    try {
      const idle: RawPeer[] = [];
      await step(t, server, "an address's connections are admitted and may stay idle", async () => {
        for (let i = 0; i < OPEN_PER_ADDRESS; i++) {
          const { peer, admitted } = await tryConnect();
          assert.equal(admitted, true, `connection ${i + 1}`);
          idle.push(peer);
        }
      });
      await step(t, server, "the next handshakes from that address are refused", async () => {
        assert.equal((await tryConnect()).admitted, false);
        assert.equal((await tryConnect()).admitted, false);
      });
      await step(t, server, "another address still connects", async () => {
        assert.equal((await tryConnect("127.0.0.2")).admitted, true);
      });
      await step(t, server, "a closed connection frees its place", async () => {
        await idle.shift()!.close();
        let admitted = false;
        const deadline = Date.now() + WAIT_MS;
        for (let i = 0; i < READMIT_ATTEMPTS && !admitted && Date.now() < deadline; i++) {
          admitted = (await tryConnect()).admitted;
        }
        assert.equal(admitted, true);
        assert.equal((await tryConnect()).admitted, false, "and the address is full again");
        assert.equal(
          (await request(idle[0], { op: "ping" })).ok,
          true,
          "the idle ones stay served",
        );
      });
    } finally {
      await Promise.all(peers.map((p) => p.close()));
      await server.stop();
    }
  },
);

/** Reads a connection until the other end closes it: true then, false when it did not within the wait. */
async function readToEnd(conn: Deno.Conn, ms = IDLE_CLOSE_WAIT_MS): Promise<boolean> {
  const timer = setTimeout(() => conn.close(), ms);
  const buffer = new Uint8Array(256);
  try {
    // Bounded: the server sends a 10-byte greeting start and waits for ours.
    for (let i = 0; i < 1000; i++) if (await conn.read(buffer) === null) return true;
    return false;
  } catch {
    return false; // closed here at the deadline
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* already closed */ }
  }
}

/** The session timeout of the idle-connection test: its connections are closed after 4 of them. */
const IDLE_TEST_SESSION_TIMEOUT_MS = 1000;
/** Connections the idle test opens and leaves silent, spread over these many source addresses. */
const IDLE_CONNECTIONS = 20;
const IDLE_ADDRESSES = 4;
/** Time for the idle connections to be closed: the 4 s limit, the sweep and a loaded machine. */
const IDLE_CLOSE_WAIT_MS = 60_000;

Deno.test(
  "connections silent for four session timeouts are closed; clients that ping stay and chat",
  opts,
  async (t) => {
    const server = await startServerProcess({
      args: [
        "--session-timeout",
        String(IDLE_TEST_SESSION_TIMEOUT_MS),
        "--metrics-bind",
        "127.0.0.1:0",
      ],
    });
    const peers: RawPeer[] = [];
    const users: Awaited<ReturnType<typeof client>>[] = [];
    try {
      const alice = await client(server.endpoint, "alice");
      const bob = await client(server.endpoint, "bob");
      users.push(alice, bob);
      // Not even the ZeroMQ greeting: closed by the sweep here (silent 4 s), by libzmq's handshake
      // limit (10 s) under the default session timeout. Both count it as silent from the start.
      const port = Number(server.endpoint.slice(server.endpoint.lastIndexOf(":") + 1));
      const bare = await Deno.connect({ hostname: "127.0.0.1", port });
      const bareClosed = readToEnd(bare);
      await step(t, server, "connections that never log in are closed, each logged", async () => {
        const from = server.log.items.length;
        for (let i = 0; i < IDLE_CONNECTIONS; i++) {
          const source = `127.0.0.${2 + (i % IDLE_ADDRESSES)}`;
          const peer = rawPeer(server.endpoint, { source, watchDisconnects: true });
          peers.push(peer);
          // Through the handshake and answered (no session), then silent.
          assert.equal((await whileUp(server, request(peer, { op: "ping" }))).ok, true);
        }
        await whileUp(
          server,
          Promise.all(
            peers.map((peer, i) =>
              peer.disconnects.waitFor(() => true, `connection ${i} closed`, IDLE_CLOSE_WAIT_MS)
            ),
          ),
        );
        const closed = (i: number) =>
          /connection_idle_closed address=127\.0\.0\.[2-5] /.test(
            server.log.items[i] ?? "",
          );
        await whileUp(
          server,
          server.log.waitFor(
            (_, i) =>
              i >= from && server.log.items.filter((_, j) => j >= from && closed(j))
                  .length >= IDLE_CONNECTIONS,
            `${IDLE_CONNECTIONS} connection_idle_closed lines`,
          ),
        );
      });
      await step(
        t,
        server,
        "a TCP connection that never starts the handshake is closed",
        async () => {
          assert.equal(await whileUp(server, bareClosed), true);
        },
      );
      await step(t, server, "the closures are counted in the metrics", async () => {
        const line = await server.stdout.waitFor((l) => l.startsWith("metrics: "), "metrics URL");
        const response = await fetch(line.slice("metrics: ".length));
        const text = await response.text();
        const counted = text.match(/^chatz_idle_connections_closed_total (\d+)$/m);
        assert.ok(counted, "the counter is exposed");
        assert.ok(Number(counted[1]) >= IDLE_CONNECTIONS, `counted ${counted[1]}`);
      });
      await step(t, server, "the clients that ping were not touched and still chat", async () => {
        const lines = server.log.items;
        for (const login of ["alice", "bob"]) {
          const logins = lines.filter((l) => l.includes(` login login=${login} `));
          assert.equal(logins.length, 1, `${login} never logged in again`);
        }
        const local = lines.filter((l) => l.includes("connection_idle_closed address=127.0.0.1 "));
        assert.ok(local.length <= 1, "from 127.0.0.1 only the bare TCP connection was closed");
        assert.equal((await alice.cmd("msg", "bob still here")).ok, true);
        await bob.events.waitFor(
          (e) => e.type === "message" && e.text === "still here",
          "alice's message to bob",
        );
      });
      await step(t, server, "the server still admits and answers new connections", async () => {
        const peer = rawPeer(server.endpoint, { source: "127.0.0.9" });
        peers.push(peer);
        assert.equal((await whileUp(server, request(peer, { op: "ping" }))).ok, true);
      });
    } finally {
      await Promise.all([...users.map((u) => u.close()), ...peers.map((p) => p.close())]);
      await server.stop();
    }
  },
);

/** Session timeout of the login-storm test: connections silent for 1 s would be closed. */
const STORM_SESSION_TIMEOUT_MS = 250;
/** Accounts registered at once: their hashes queue for longer than 1 s even on a fast machine. */
const STORM_LOGINS = 30;
/** The storm's logins may wait long on a loaded machine: about 4 hashes a second at worst. */
const STORM_LOGIN_TIMEOUT_MS = 120_000;

Deno.test(
  "a storm of password logins queued longer than the idle limit loses no connection",
  opts,
  async () => {
    const server = await startServerProcess({
      args: ["--session-timeout", String(STORM_SESSION_TIMEOUT_MS)],
    });
    try {
      const logins = await whileUp(
        server,
        Promise.all(Array.from({ length: STORM_LOGINS }, (_, i) =>
          connect({
            server: server.endpoint,
            login: `storm${i}`,
            password: `pw-storm${i}`,
            timeoutMs: STORM_LOGIN_TIMEOUT_MS,
            curve: testCurve(server.endpoint),
          }))),
      );
      assert.equal(logins.length, STORM_LOGINS);
      await Promise.all(logins.map((conn) => conn.close({ logout: true })));
      const closed = server.log.items.filter((l) => l.includes("connection_idle_closed"));
      assert.deepEqual(closed, [], "a login waiting for its hash is not an idle connection");
    } finally {
      await server.stop();
    }
  },
);
