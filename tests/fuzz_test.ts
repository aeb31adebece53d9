// Seeded, bounded fuzz test of the wire (issue #6 item 6): thousands of random and mutated frames
// from raw DEALERs; the server must answer each as docs/PROTOCOL.md says, keep serving, and not leak.

import assert from "node:assert/strict";
import { Dealer } from "zeromq";
import { isErrorCode, PROTOCOL_VERSION } from "../protocol/mod.ts";
import { type SocketLoop, startSocketLoop } from "../transport/socket_loop.ts";
import {
  type Budget,
  describeFrames,
  type Expectation,
  type Frames,
  type FuzzWorld,
  generateCase,
  loginExtras,
  oracle,
  parseSeed,
  type PeerInfo,
  Rng,
} from "./fuzz_cases.ts";
import {
  client,
  rssKiB,
  type ServerProcess,
  startServerProcess,
  testCurveOptions,
} from "./harness.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** Seed of the default run; set CHATZ_FUZZ_SEED (decimal, 0x-hex or any text) for another. */
const DEFAULT_SEED = 0x6c6a7a01;
const SEED = parseSeed(Deno.env.get("CHATZ_FUZZ_SEED"), DEFAULT_SEED);
/** Frames sent by default; CHATZ_FUZZ_COUNT raises it. */
const DEFAULT_COUNT = 3000;
const COUNT = Math.max(1, Number(Deno.env.get("CHATZ_FUZZ_COUNT") ?? "") || DEFAULT_COUNT);
/** Frames sent between two rounds of pings to every peer: bounds what is in flight at once. */
const SYNC_EVERY = 40;
/** Time the sending may take before it stops short of COUNT (scaled with COUNT), so the test stays bounded. */
const SEND_BUDGET_MS = 35_000 * Math.max(1, COUNT / DEFAULT_COUNT);
/**
 * Frames the fuzz step must send before its time budget runs out, or it fails: a third of its
 * count. A run cut shorter than that by a slow machine has not fuzzed, and must not pass as if it
 * had (it used to stop early and only log how far it got).
 */
const FUZZ_FLOOR = Math.ceil(COUNT / 3);
/** A ping unanswered this long means the server hangs; a 2-core machine answers in milliseconds. */
const REPLY_DEADLINE_MS = 15_000;
/** A fresh connection's ping after the fuzz: a live, idle server answers in milliseconds. */
const ALIVE_DEADLINE_MS = 5000;
/** Valid requests sent before the fuzz, so start-up allocations are behind us. */
const WARMUP_REQUESTS = 300;
/** Generated frames (another PRNG stream of the same seed) sent before the first memory reading. */
const WARMUP_FRAMES = 2000;
/**
 * glibc malloc arenas for the server. By default each of its many threads (Deno's, the serving
 * worker's, libzmq's) may get its own arena, whose freed pages stay resident: RSS then grew by 10 to
 * 60 MiB in steps over the same seed's run, with no leak. With two arenas freed memory is reused, and
 * RSS measures what the server keeps. (Other C libraries ignore the variable.)
 */
const SERVER_MALLOC_ARENAS = "2";
/**
 * Resident-memory growth allowed over the fuzz. With two arenas the default run grows by 7 to 25 MiB
 * (V8 sizes its heaps to the load and keeps the pages, SQLite fills its page cache, a dozen frames of
 * about 1 MiB pass through). A leak that keeps frames, batches or per-peer state crosses the bound
 * within the default run. A small one needs a longer run: RSS then keeps settling for tens of thousands
 * of frames (100,000 frames: +80 MiB in all, +4 MiB over the second half), so longer runs measure
 * over their second half, where a leak of 2 KiB per frame adds 98 MiB at CHATZ_FUZZ_COUNT=100000.
 */
const RSS_GROWTH_LIMIT_KIB = 64 * 1024;
/** Ids of the test's own pings and checks: far above the generator's ids. */
const OWN_ID_BASE = 5_000_000_000_000;
/** Event types of docs/PROTOCOL.md section 5. */
const EVENT_TYPES = new Set(["message", "presence", "group", "notice", "bye", "error"]);
/** Malformed answers quoted in a failure message. */
const PROBLEMS_SHOWN = 25;

const RERUN = `CHATZ_FUZZ_SEED=${SEED} CHATZ_FUZZ_COUNT=${COUNT} ` +
  "npx -y deno@2.9.6 test --allow-all tests/fuzz_test.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A reply as the checks need it. */
interface SeenReply {
  ok: boolean;
  code?: string;
  raw: Record<string, unknown>;
}

/** An expectation with the case it came from, to name it in a failure. */
interface Expected extends Expectation {
  caseIndex: number;
}

/** A raw DEALER that sends fuzz frames, checks every answer's shape and tallies them for the oracle. */
class FuzzPeer {
  readonly replies = new Map<string, SeenReply[]>();
  readonly expected = new Map<string, Expected[]>();
  readonly errorEvents = new Map<string, number>();
  readonly expectedErrors = new Map<string, number>();
  readonly events = new Map<string, number>();
  /** Answers that break the wire format, with the reason. */
  readonly problems: string[] = [];
  repliesSeen = 0;
  repliesExpected = 0;
  framesReceived = 0;
  sendErrors = 0;
  /** Frames whose oracle said the connection drops or nothing is sent. */
  silent = 0;
  readonly #loop: SocketLoop;
  #watchers: (() => boolean)[] = [];

  /** The CURVE public key its logins name (the generated ones too, most of the time). */
  readonly key: string | undefined;

  constructor(readonly index: number, readonly info: PeerInfo, endpoint: string) {
    const curve = testCurveOptions(endpoint);
    this.key = "curvePublicKey" in curve ? curve.curvePublicKey : undefined;
    info.key = this.key;
    const socket = new Dealer({ receiveTimeout: 0, sendTimeout: 0, linger: 0, ...curve });
    this.#loop = startSocketLoop(socket, {
      onMessage: (frames) => this.#receive(frames),
      onSendError: () => this.sendErrors++,
    }, { checkWritable: true });
    // Generated peers that are not logged in guess logins: they do it from addresses of their own,
    // so the waits their failures earn there (docs/PROTOCOL.md 3.3) never delay the test's logins:
    // the anonymous and dropping peers from 127.0.0.2, the churn peer (logged out at times) from .3.
    const source = index < 0 || info.role === "user"
      ? undefined
      : info.role === "churn"
      ? "127.0.0.3"
      : "127.0.0.2";
    socket.connect(source ? endpoint.replace("tcp://", `tcp://${source}:0;`) : endpoint);
  }

  /** Sends frames and records what must come back; the test's own requests (caseIndex -1) are not judged. */
  send(frames: Frames, caseIndex: number): void {
    const o = oracle(frames, this.info.role);
    if (o.silent) this.silent++;
    if (o.frameError) bump(this.expectedErrors, o.frameError);
    for (let i = 0; i < o.itemErrors; i++) bump(this.expectedErrors, "bad_request");
    for (const e of o.replies) {
      const list = this.expected.get(e.key) ?? [];
      list.push(caseIndex < 0 ? { key: e.key, caseIndex } : { ...e, caseIndex });
      this.expected.set(e.key, list);
      this.repliesExpected++;
    }
    this.#loop.send(frames);
  }

  /** Sends one request of the test's own and waits for its reply. */
  async request(request: Record<string, unknown>, ms = REPLY_DEADLINE_MS): Promise<SeenReply> {
    const key = JSON.stringify(request.id);
    const before = this.replies.get(key)?.length ?? 0;
    const withKey = request.op === "login" && this.key !== undefined
      ? { ...request, key: this.key }
      : request;
    this.send([PROTOCOL_VERSION, JSON.stringify([withKey])], -1);
    await this.until(
      () => (this.replies.get(key)?.length ?? 0) > before,
      `the reply to ${key}`,
      ms,
    );
    return this.replies.get(key)![before];
  }

  /** Resolves once `done` holds, checked after every message received; rejects at the deadline. */
  until(done: () => boolean, what: string, ms = REPLY_DEADLINE_MS): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#watchers = this.#watchers.filter((w) => w !== watcher);
        reject(new Error(`peer ${this.index} (${this.info.role}): no answer in ${ms} ms: ${what}`));
      }, ms);
      const watcher = () => {
        if (!done()) return false;
        clearTimeout(timer);
        resolve();
        return true;
      };
      this.#watchers.push(watcher);
    });
  }

  close(): Promise<void> {
    return this.#loop.close();
  }

  #problem(text: string): void {
    if (this.problems.length < 200) this.problems.push(`peer ${this.index}: ${text}`);
  }

  #receive(frames: Uint8Array[]): void {
    this.framesReceived++;
    try {
      this.#check(frames);
    } finally {
      this.#watchers = this.#watchers.filter((w) => !w());
    }
  }

  /** The wire format of docs/PROTOCOL.md sections 1.2, 2.2 and 2.3, item by item. */
  #check(frames: Uint8Array[]): void {
    if (frames.length !== 2) return this.#problem(`a message of ${frames.length} frames`);
    let version: string;
    let items: unknown;
    try {
      version = utf8.decode(frames[0]);
      items = JSON.parse(utf8.decode(frames[1]));
    } catch {
      return this.#problem(`a body that is not UTF-8 JSON`);
    }
    if (version !== PROTOCOL_VERSION) {
      return this.#problem(`version frame ${JSON.stringify(version)}`);
    }
    if (!Array.isArray(items)) return this.#problem(`a body that is not an array`);
    if (items.length === 0) this.#problem("an empty array (the server never sends one)");
    for (const item of items) {
      if (typeof item !== "object" || item === null || Array.isArray(item)) {
        this.#problem(`an item that is not an object: ${short(item)}`);
        continue;
      }
      const m = item as Record<string, unknown>;
      if ("re" in m === "type" in m) {
        this.#problem(`an item with both or neither of re and type: ${short(m)}`);
      } else if ("re" in m) {
        this.#checkReply(m);
      } else {
        this.#checkEvent(m);
      }
    }
  }

  #checkReply(m: Record<string, unknown>): void {
    const re = m.re;
    if (typeof re !== "number" || !Number.isSafeInteger(re) || re < 0) {
      return this.#problem(`a reply whose re is not a request id: ${short(m)}`);
    }
    if (typeof m.ok !== "boolean") return this.#problem(`a reply without boolean ok: ${short(m)}`);
    if (m.ok) {
      if ("code" in m || "message" in m) this.#problem(`an ok reply with a code: ${short(m)}`);
      if (m.text !== undefined && typeof m.text !== "string") {
        this.#problem(`a reply whose text is not a string: ${short(m)}`);
      }
      if (m.data === null) this.#problem(`a reply with data null, not omitted: ${short(m)}`);
    } else if ("text" in m || "data" in m) {
      this.#problem(`a failure with text or data: ${short(m)}`);
    } else if (typeof m.code !== "string" || !isErrorCode(m.code)) {
      this.#problem(`a failure whose code is not in ERROR_CODES: ${short(m)}`);
    } else if (typeof m.message !== "string") {
      this.#problem(`a failure without a message: ${short(m)}`);
    }
    const key = JSON.stringify(re);
    const list = this.replies.get(key) ?? [];
    list.push({ ok: m.ok === true, code: typeof m.code === "string" ? m.code : undefined, raw: m });
    this.replies.set(key, list);
    this.repliesSeen++;
  }

  #checkEvent(m: Record<string, unknown>): void {
    const type = m.type;
    if (typeof type !== "string" || !EVENT_TYPES.has(type)) {
      return this.#problem(`an event of unknown type: ${short(m)}`);
    }
    bump(this.events, type);
    if (type === "error" || type === "bye") {
      if (typeof m.code !== "string" || !isErrorCode(m.code)) {
        return this.#problem(`an ${type} event whose code is not in ERROR_CODES: ${short(m)}`);
      }
      if (typeof m.message !== "string") this.#problem(`an ${type} event without a message`);
      if (type === "error") bump(this.errorEvents, m.code);
    }
  }
}

function bump(map: Map<string, number>, key: string, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

function short(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 200 ? text.slice(0, 200) + "…" : text;
}

/** Answers a ping from a fresh connection, or fails when the server exited or stopped answering. */
async function pingFromFreshPeer(server: ServerProcess, id: number): Promise<void> {
  const peer = new FuzzPeer(-1, { role: "anon" }, server.endpoint);
  try {
    const exited = server.status.then((s) => {
      throw new Error(`The server exited with code ${s.code} (signal ${s.signal})`);
    });
    const reply = await Promise.race([peer.request({ op: "ping", id }, ALIVE_DEADLINE_MS), exited]);
    assert.deepEqual(reply.raw, { re: id, ok: true, data: { session: false } });
  } finally {
    await peer.close();
  }
}

Deno.test(
  `fuzz: random and mutated frames get documented answers and leave the server serving (seed ${SEED}, ${COUNT} frames)`,
  opts,
  async (t) => {
    console.log(`fuzz seed ${SEED} (0x${SEED.toString(16)}), ${COUNT} frames; rerun: ${RERUN}`);
    const serverArgs = (Deno.env.get("CHATZ_FUZZ_SERVER_ARGS") ?? "").split(" ").filter((a) => a);
    const server = await startServerProcess({
      args: serverArgs,
      env: { MALLOC_ARENA_MAX: SERVER_MALLOC_ARENAS },
    });
    const pid = server.child.pid;
    const peers: FuzzPeer[] = [];
    const cases: string[] = [];
    let ownId = OWN_ID_BASE;
    const rss: { before?: number; after?: number; samples: string[] } = { samples: [] };
    try {
      const infos: PeerInfo[] = [
        { role: "user", login: "fz0" },
        { role: "user", login: "fz1" },
        { role: "user", login: "fz2" },
        { role: "churn", login: "fz3" },
        { role: "anon" },
        { role: "anon" },
        { role: "anon" },
        { role: "dropper" },
      ];
      const passwords = new Map(
        infos.filter((p) => p.login).map((p) => [p.login!, `pw-${p.login}-${SEED % 1000}`]),
      );
      const tokens = new Map<string, string>();
      const world: FuzzWorld = {
        peers: infos,
        passwords,
        tokens,
        victim: "victim",
        passwdPeer: 0,
        groups: ["fzg0", "fzg1", "fzg2", "ops"],
      };
      const login = async (peer: FuzzPeer) => {
        const name = peer.info.login!;
        const reply = await peer.request({
          op: "login",
          id: ownId++,
          login: name,
          password: passwords.get(name),
          client: "fuzz",
        });
        return reply;
      };

      const ready = await t.step(
        "setup: accounts, groups and a few hundred valid requests",
        async () => {
          infos.forEach((info, i) => peers.push(new FuzzPeer(i, info, server.endpoint)));
          const victim = new FuzzPeer(-1, { role: "anon" }, server.endpoint);
          const made = await victim.request({
            op: "login",
            id: 1,
            login: world.victim,
            password: "victim-password",
          });
          assert.ok(made.ok, `the victim account is registered: ${short(made.raw)}`);
          await victim.close();
          for (const peer of peers) {
            if (peer.info.login) {
              const reply = await login(peer);
              assert.ok(reply.ok, `${peer.info.login} logs in: ${short(reply.raw)}`);
              tokens.set(peer.info.login, (reply.raw.data as { token: string }).token);
            } else {
              await peer.request({ op: "ping", id: ownId++ });
            }
          }
          const users = peers.filter((p) => p.info.login);
          for (const [i, group] of ["fzg0", "fzg1"].entries()) {
            const reply = await users[i].request({
              op: "cmd",
              id: ownId++,
              cmd: "group",
              args: `create ${group}`,
            });
            assert.ok(reply.ok, short(reply.raw));
          }
          await users[2].request({ op: "cmd", id: ownId++, cmd: "join", args: "fzg0" });
          const warmups = [
            () => ({ cmd: "say", args: "warm-up " + "w".repeat(ownId % 300) }),
            () => ({ cmd: "msg", args: "fz1 warm-up" }),
            () => ({ cmd: "list", args: "" }),
            () => ({ cmd: "history", args: "public 50" }),
            () => ({ cmd: "g", args: "fzg0 warm-up" }),
            () => ({ cmd: "group", args: "members fzg0" }),
          ];
          for (let i = 0; i < WARMUP_REQUESTS; i += users.length) {
            await Promise.all(
              users.map((u, k) =>
                u.request({ op: "cmd", id: ownId++, ...warmups[(i + k) % warmups.length]() })
              ),
            );
          }
        },
      );

      /**
       * A token for `name` from a login on a connection of its own, left without a logout: the
       * churn peer's own token goes with each logout it gets (a logout revokes its token).
       */
      const freshToken = async (name: string) => {
        const spare = new FuzzPeer(-1, { role: "anon" }, server.endpoint);
        try {
          const reply = await spare.request({
            op: "login",
            id: ownId++,
            login: name,
            password: passwords.get(name),
          });
          return (reply.raw.data as { token: string } | undefined)?.token ?? "";
        } finally {
          await spare.close();
        }
      };
      let sent = 0;
      let reloginCount = 0;
      /** Its own stream, so re-logins (which depend on answers) leave the generator's untouched. */
      const relogins = new Rng(SEED ^ 0x3c3c3c3c);
      /** Pings every peer and waits for the answers, so at most SYNC_EVERY frames are in flight. */
      const sync = async () => {
        await Promise.all(peers.map(async (peer) => {
          // The dropper's ping can be lost with its dropped connection: libzmq reconnects (in about
          // 100 ms), so it tries again, waiting longer each time.
          const deadlines = peer.info.role === "dropper"
            ? [500, 1000, 2000, REPLY_DEADLINE_MS]
            : [REPLY_DEADLINE_MS];
          for (const [i, ms] of deadlines.entries()) {
            try {
              await peer.request({ op: "ping", id: ownId++ }, ms);
              return;
            } catch (error) {
              if (i === deadlines.length - 1) {
                throw new Error(
                  `${(error as Error).message}; last cases sent (seed ${SEED}):\n` +
                    cases.slice(-5).join("\n"),
                );
              }
            }
          }
        }));
        // The churn peer may have logged out: log it in again, as a client would.
        const churn = peers.find((p) => p.info.role === "churn")!;
        const probe = await churn.request({ op: "cmd", id: ownId++, cmd: "list" });
        if (probe.code === "not_logged_in") {
          // Half the time with its token and odd client and host fields: a successful login path
          // the generator cannot take, since its logins that would succeed go to logged-in peers.
          const name = churn.info.login!;
          const again = relogins.next() < 0.5 ? await login(churn) : await churn.request({
            op: "login",
            id: ownId++,
            login: name,
            token: await freshToken(name),
            ...loginExtras(relogins),
          });
          reloginCount++;
          if (!again.ok) console.log(`churn peer could not log in again: ${short(again.raw)}`);
        }
      };
      /** Sends `count` generated cases, pacing them with syncs; stops early when `budgetMs` is spent. */
      const runCases = async (
        rng: Rng,
        count: number,
        budget: Budget,
        options: { budgetMs: number; halfway?: () => Promise<void> },
      ): Promise<number> => {
        const { budgetMs } = options;
        const started = performance.now();
        const kinds = new Map<string, number>();
        let done = 0;
        for (; done < count; done++) {
          if (performance.now() - started > budgetMs) {
            console.log(`time budget of ${budgetMs} ms spent: stopped after ${done} frames`);
            break;
          }
          const index = cases.length;
          const c = generateCase(rng, world, index, budget);
          cases.push(`#${index} ${c.kind} → peer ${c.peer}: ${describeFrames(c.frames)}`);
          bump(kinds, c.kind);
          peers[c.peer].send(c.frames, index);
          sent++;
          if (sent % SYNC_EVERY === 0) await sync();
          if (sent % 500 === 0) rss.samples.push(`${sent}: ${await rssKiB(pid)}`);
          if (done + 1 === Math.floor(count / 2) && options.halfway) {
            await sync();
            await options.halfway();
          }
        }
        await sync();
        // Asynchronous replies (login, passwd) may trail the pings: wait for the count to add up.
        await Promise.all(
          peers.filter((p) => p.info.role !== "dropper").map((p) =>
            p.until(() => p.repliesSeen >= p.repliesExpected, "every expected reply")
          ),
        );
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        console.log(
          `sent ${done} frames in ${seconds} s; by kind: ${short(Object.fromEntries(kinds))}`,
        );
        return done;
      };

      const needSetup = () => assert.ok(ready, "setup failed, so nothing was fuzzed");
      await t.step("warm-up: garbage until the server's heap has its working size", async () => {
        needSetup();
        // A first burst of garbage grows V8's heap in steps of megabytes (deep JSON, 600-item
        // batches, 1 MiB frames), pages it keeps; counting them as growth would hide a real leak.
        await runCases(new Rng(SEED ^ 0x5a5a5a5a), WARMUP_FRAMES, { big: 2 }, {
          budgetMs: SEND_BUDGET_MS,
        });
        rss.before = await rssKiB(pid);
        console.log(`server VmRSS after warm-up: ${rss.before} KiB`);
      });

      const fuzzed = await t.step(
        `fuzz: ${COUNT} frames from ${infos.length} raw peers`,
        async () => {
          needSetup();
          const budget: Budget = { big: Math.max(6, Math.round(COUNT / 400)) };
          const done = await runCases(new Rng(SEED), COUNT, budget, {
            budgetMs: SEND_BUDGET_MS,
            // A longer run measures its second half: see RSS_GROWTH_LIMIT_KIB.
            halfway: COUNT > DEFAULT_COUNT
              ? async () => {
                rss.before = await rssKiB(pid);
                console.log(`server VmRSS half way: ${rss.before} KiB`);
              }
              : undefined,
          });
          console.log(`server VmRSS (KiB) after N frames: ${rss.samples.join(", ")}`);
          console.log(`the churn peer logged in again ${reloginCount} times`);
          assert.ok(
            done >= FUZZ_FLOOR,
            `only ${done} of ${COUNT} frames sent within ${SEND_BUDGET_MS} ms; the floor is ${FUZZ_FLOOR}`,
          );
        },
      );

      await t.step("the logged-in peers are still logged in", async () => {
        needSetup();
        for (const peer of peers.filter((p) => p.info.role === "user")) {
          // A login is not subject to a command flood limit, and says whether a session is there.
          const reply = await peer.request({ op: "login", id: ownId++, login: "" });
          assert.equal(reply.code, "already_logged_in", `peer ${peer.index}: ${short(reply.raw)}`);
        }
      });

      await t.step("every answer is well-formed and as the protocol document says", () => {
        assert.ok(fuzzed, "the fuzz did not finish, so its answers cannot be counted");
        const problems: string[] = [];
        let judged = 0;
        for (const peer of peers) {
          problems.push(...peer.problems);
          if (peer.info.role === "dropper") continue;
          const where = (e: Expected | undefined) =>
            e === undefined
              ? ""
              : e.caseIndex < 0
              ? " (the test's own request)"
              : `; request ${e.request} in ${cases[e.caseIndex].slice(0, 400)}`;
          const keys = new Set([...peer.expected.keys(), ...peer.replies.keys()]);
          for (const key of keys) {
            const expected = peer.expected.get(key) ?? [];
            const got = peer.replies.get(key) ?? [];
            if (expected.length !== got.length) {
              problems.push(
                `peer ${peer.index}: ${got.length} replies with re ${key}, expected ${expected.length}` +
                  where(expected[0]),
              );
              continue;
            }
            if (expected.some((e) => e.outcomes === undefined)) continue;
            judged += got.length;
            const allowed = new Set(expected.flatMap((e) => e.outcomes ?? []));
            for (const reply of got) {
              const outcome = reply.ok ? "ok" : reply.code ?? "?";
              if (allowed.has(outcome)) continue;
              const e = expected.find((x) => !x.outcomes?.includes(outcome));
              const want = [...allowed].join(" or ");
              const peerName = `peer ${peer.index} (${peer.info.role})`;
              problems.push(`${peerName}: got ${short(reply.raw)}, expected ${want}${where(e)}`);
            }
          }
          const codes = new Set([...peer.expectedErrors.keys(), ...peer.errorEvents.keys()]);
          for (const code of codes) {
            const want = peer.expectedErrors.get(code) ?? 0;
            const have = peer.errorEvents.get(code) ?? 0;
            if (want !== have) {
              problems.push(`peer ${peer.index}: ${have} error events ${code}, expected ${want}`);
            }
          }
        }
        const totals = peers.map((p) =>
          `peer ${p.index} ${p.info.role}: ${p.framesReceived} frames, ${p.repliesSeen} replies, ` +
          `events ${short(Object.fromEntries(p.events))}, ${p.silent} frames that drop the ` +
          `connection or send nothing, send errors ${p.sendErrors}`
        );
        const replies = peers.reduce((n, p) => n + p.repliesSeen, 0);
        console.log(`${judged} of ${replies} replies checked against a documented outcome`);
        console.log(totals.join("\n"));
        assert.deepEqual(
          problems.slice(0, PROBLEMS_SHOWN),
          [],
          `${problems.length} problems (seed ${SEED}); rerun: ${RERUN}`,
        );
      });
    } finally {
      await Promise.all(peers.map((p) => p.close()));
    }
    try {
      await t.step("the server is alive and answers a fresh connection", async () => {
        await pingFromFreshPeer(server, ownId++);
      });

      await t.step("its memory is back near where it started", async () => {
        await pingFromFreshPeer(server, ownId++); // the closed peers' disconnects are handled
        rss.after = await rssKiB(pid);
        const growth = rss.after - (rss.before ?? rss.after);
        console.log(
          `server VmRSS: ${rss.before} KiB before, ${rss.after} KiB after (${growth} KiB)`,
        );
        assert.ok(
          growth < RSS_GROWTH_LIMIT_KIB,
          `VmRSS grew by ${growth} KiB (limit ${RSS_GROWTH_LIMIT_KIB} KiB, seed ${SEED})`,
        );
      });

      await t.step("a normal client logs in, lists and delivers a direct message", async () => {
        const alice = await client(server.endpoint, "alice");
        const bob = await client(server.endpoint, "bob");
        try {
          const list = await alice.cmd("list");
          assert.ok(list.ok, short(list));
          const sent = await alice.cmd("msg", "bob still there after the fuzz?");
          assert.ok(sent.ok, short(sent));
          await bob.events.waitFor(
            (e) => e.type === "message" && e.from === "alice" && e.text.includes("after the fuzz"),
            "alice's direct message",
          );
        } finally {
          await alice.close();
          await bob.close();
        }
      });

      await t.step("the server log has no handler error, uncaught error or panic", () => {
        // ERROR records are what the server logs when something of its own failed (a handler, a
        // plugin, a login, a commit); client garbage is only ever a WARN.
        const events = new Map<string, number>();
        for (const line of server.log.items) {
          const [, level, event] = /^\S+ (\w+) (\S+)/.exec(line) ?? [];
          bump(events, level ? `${level} ${event}` : "(not a record)");
        }
        console.log(`server log: ${JSON.stringify(Object.fromEntries(events))}`);
        const bad = server.log.items.filter((l) =>
          /handler_error|Uncaught|panic/.test(l) || / ERROR /.test(l)
        );
        assert.deepEqual(bad.slice(0, 10), [], `seed ${SEED}; rerun: ${RERUN}`);
      });
    } finally {
      const status = await server.stop();
      assert.equal(status.code, 0, `the server exits cleanly after the fuzz (seed ${SEED})`);
    }
  },
);
