// Seeded generator of the frames tests/fuzz_test.ts sends: random and mutated chatz messages.
// Pure (no I/O): a seed replays the same frames to the same peers; the oracle says what each must get.

import {
  MAX_ARGS_LENGTH,
  MAX_BATCH,
  MAX_FRAME_BYTES,
  MAX_LOGIN_FRAME_BYTES,
  MAX_PASSWORD_LENGTH,
  MAX_TEXT_LENGTH,
  PROTOCOL_VERSION,
  trimArgs,
} from "../protocol/mod.ts";
import { isCurveKey } from "../protocol/curve.ts";

/** libzmq's inbound limit on one frame (`maxMessageSize` in server/serving/serve.ts): past it the server drops the connection. */
export const ZMQ_MAX_FRAME = MAX_FRAME_BYTES + 1024;

/** Longest `cmd`, token, client and host (docs/PROTOCOL.md section 1.3). */
const MAX_CMD_LENGTH = 64;
const MAX_LOGIN_FIELD_LENGTH = 256;
/** Longest client message id `cid` of servers that check it. */
const MAX_CID_LENGTH = 64;

/** The frames of one message as a DEALER sends them: strings go out as UTF-8. */
export type Frames = (string | Uint8Array)[];

// ---------------------------------------------------------------------------------------------
// The PRNG

/** mulberry32: a tiny, fast 32-bit PRNG; plenty for fuzzing and identical on every platform. */
export class Rng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** Picks by weight from `[weight, value]` pairs. */
  weighted<T>(table: readonly (readonly [number, T])[]): T {
    let total = 0;
    for (const [w] of table) total += w;
    let r = this.next() * total;
    for (const [w, value] of table) {
      r -= w;
      if (r < 0) return value;
    }
    return table[table.length - 1][1];
  }
}

/** Reads a seed: decimal or 0x-hex digits as a number, any other text hashed (FNV-1a). */
export function parseSeed(text: string | undefined, fallback: number): number {
  if (text === undefined || text.trim() === "") return fallback >>> 0;
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(BigInt(t) & 0xffffffffn);
  if (/^0x[0-9a-f]+$/i.test(t)) return Number(BigInt(t) & 0xffffffffn);
  let h = 0x811c9dc5;
  for (let i = 0; i < t.length; i++) h = Math.imul(h ^ t.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

// ---------------------------------------------------------------------------------------------
// The world the cases are made for

/** What a fuzz peer is: how its requests are answered depends on it. */
export type PeerRole =
  /** Logged in before the fuzz and kept logged in (no `logout` reaches it). */
  | "user"
  /** Logged in, and the only logged-in peer that gets `logout`; the test logs it in again. */
  | "churn"
  /** Never logs in: no login that could succeed or throttle a user is sent from it. */
  | "anon"
  /** Gets the frames over libzmq's limit, which drop its connection, and frames no other peer may
   * take; its answers are checked for shape only. */
  | "dropper";

/** One fuzz peer. */
export interface PeerInfo {
  role: PeerRole;
  /** The account of a `user` or `churn` peer. */
  login?: string;
  /**
   * The peer's CURVE public key on an encrypted server: its generated logins name it most of the
   * time (an encrypted server requires it, docs/PROTOCOL.md 3.3), so they reach the password checks.
   */
  key?: string;
}

/** Accounts, tokens and names the generator draws from. */
export interface FuzzWorld {
  peers: readonly PeerInfo[];
  /** Passwords by login key, for every account the test made. */
  passwords: ReadonlyMap<string, string>;
  /** Tokens by login key, from the login replies. */
  tokens: ReadonlyMap<string, string>;
  /** An existing account no peer uses: wrong passwords for it cost an scrypt check until throttled. */
  victim: string;
  /** The peer that alone gets `passwd`: its failures throttle its own login, which it never repeats. */
  passwdPeer: number;
  /** Group names, some of which exist. */
  groups: readonly string[];
}

/** One generated frame list and where it goes. */
export interface FuzzCase {
  index: number;
  kind: CaseKind;
  peer: number;
  frames: Frames;
}

/** The categories of cases. */
export type CaseKind =
  | "frame-count"
  | "version"
  | "broken-json"
  | "shape"
  | "batch"
  | "field-types"
  | "login"
  | "command"
  | "mutation"
  | "big";

// ---------------------------------------------------------------------------------------------
// Building blocks

const enc = new TextEncoder();

/** Unicode pieces that break naive code: lone and swapped surrogates, bidi and zero-width marks, NUL, 4-byte chars. */
export const UNICODE_EDGES: readonly string[] = [
  "\uD800",
  "\uDFFF",
  "\uDC00\uD800",
  "a\uD83D",
  "\u200F",
  "\u202E",
  "\u2066",
  "\u200D",
  "\u200B",
  "\u2060",
  "\u0000",
  "\u0001",
  "\u001b[31m",
  "\u007f",
  "\u0085",
  "😀",
  "👩‍👩‍👧‍👦",
  "🏳️‍🌈",
  "𝕏",
  "\u{10FFFF}",
  "\u{E0001}",
  "\uFEFF",
  "\uFFFE",
  "\uFFFF",
  "e\u0301\u0301\u0301",
  "İ",
  "ß",
  "ﷺ",
  "\u3000",
  "\u00A0",
  "\u2028",
  "\u2029",
  "\r\n",
  "\n",
  "\t",
  " ",
  "\\",
  '"',
  "'",
  "%s%n",
  "${x}",
  "<b>",
  "../../etc/passwd",
  "__proto__",
  "constructor",
];

/** Separators between words: ASCII whitespace (splits words), Unicode spaces and look-alikes (which do not). */
const SEPARATORS = [" ", " ", " ", "  ", "\t", "\n", "\u3000", "\u00A0", "\u2028", "\u200B", ""];

const BUILTIN_COMMANDS = [
  "say",
  "me",
  "msg",
  "m",
  "tell",
  "list",
  "who",
  "history",
  "group",
  "join",
  "part",
  "members",
  "g",
  "group create",
  "group join",
  "group leave",
  "group list",
  "group members",
  "group say",
  "group kick",
  "group owner",
  "group ban",
  "group unban",
  "group topic",
  "group invite",
  "group open",
] as const;

/** Every command word and alias the built-in plugins register (docs/PROTOCOL.md section 4.4). */
const KNOWN_COMMANDS = new Set<string>([
  ...BUILTIN_COMMANDS,
  "passwd",
  // The operators' moderation commands: any peer may try them and gets `forbidden` or an error.
  "kick",
  "ban",
  "unban",
  "wall",
  "broadcast",
]);

const GROUP_SUBCOMMANDS = [
  "create",
  "join",
  "leave",
  "list",
  "members",
  "say",
  "kick",
  "owner",
  "JOIN",
  "Say",
  "",
  "frob",
  "create create",
];

const ODD_COMMANDS = [
  "",
  " ",
  "SAY",
  "Say",
  "say ",
  " say",
  "group  join",
  "group\tjoin",
  "GROUP JOIN",
  "help",
  "quit",
  "roll",
  "passwd",
  "x".repeat(MAX_CMD_LENGTH),
  "x".repeat(MAX_CMD_LENGTH + 1),
  "s".repeat(10_000),
  "😀",
  "\uD800",
  "sa\u200Dy",
  "\u212Aick",
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
  "say\u0000",
  "../say",
];

const ODD_OPS: readonly unknown[] = [
  "LOGIN",
  "Ping",
  "",
  "ping ",
  "pong",
  "__proto__",
  "constructor",
  "toString",
  "\u0000",
  "p\u0131ng",
  "x".repeat(5000),
  1,
  0,
  null,
  true,
  [],
  ["ping"],
  {},
  { op: "ping" },
];

/** Values of every JSON type, and numbers and strings at the edges. */
const ODD_VALUES: readonly unknown[] = [
  0,
  -1,
  1.5,
  -0.5,
  2 ** 53,
  2 ** 53 - 1,
  2 ** 63,
  1e308,
  -1e308,
  Number.MIN_VALUE,
  "",
  "1",
  "-1",
  " ",
  "x".repeat(65),
  "x".repeat(257),
  "x".repeat(MAX_ARGS_LENGTH + 1),
  "\uD800",
  null,
  true,
  false,
  [],
  [1, 2],
  [[[]]],
  {},
  { a: { b: {} } },
  { length: 1 },
];

/** Request ids as raw JSON text: the ones JSON.stringify never writes. */
const RAW_IDS = [
  "-0",
  "0.0",
  "1e2",
  "1.0",
  "1E400",
  "-1e-400",
  "9007199254740991",
  "9007199254740992",
  "9007199254740993",
  "00",
  "+1",
  "0x10",
  ".5",
  "NaN",
  "Infinity",
  '"7"',
  "1e-7",
  "123456789012345678901234567890",
];

function randomBytes(rng: Rng, n: number): Uint8Array {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = rng.int(256);
  return bytes;
}

/** Lengths around a limit: just under, at, just over. */
function around(rng: Rng, limit: number): number {
  return limit + rng.range(-1, 1);
}

/** A string of exactly `length` UTF-16 units, of one- or two-unit characters. */
function filler(rng: Rng, length: number): string {
  const unit = rng.pick(["x", "é", "😀", "𝕏", "\u200D", " x", "字"]);
  let s = unit.repeat(Math.floor(length / unit.length));
  while (s.length < length) s += "y";
  return s;
}

function unicodeSoup(rng: Rng, parts: number): string {
  let s = "";
  for (let i = 0; i < parts; i++) {
    s += rng.chance(0.3) ? rng.pick(["hi", "a", "1"]) : rng.pick(UNICODE_EDGES);
  }
  return s;
}

/** Chat text: short, empty, edges of Unicode, and lengths around the 4000 text and 8000 args limits. */
function text(rng: Rng): string {
  return rng.weighted<() => string>([
    [4, () => rng.pick(["hello", "hi there", "x", "waves", "ok  then"])],
    [1, () => ""],
    [1, () => rng.pick(["   ", "\t\n", "\u3000", "\u200B"])],
    [5, () => unicodeSoup(rng, rng.range(1, 12))],
    [3, () => filler(rng, around(rng, MAX_TEXT_LENGTH))],
    [1, () => "  " + filler(rng, MAX_TEXT_LENGTH) + "\n"],
    [1, () => filler(rng, around(rng, MAX_ARGS_LENGTH - 10))],
    [1, () => filler(rng, around(rng, MAX_ARGS_LENGTH))],
    [1, () => "\uD83D".repeat(MAX_TEXT_LENGTH)],
    [1, () => "\u0000".repeat(rng.range(1, 50))],
  ])();
}

const VALID_NAME_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-";

function randomValidName(rng: Rng, length = rng.range(1, 32)): string {
  let s = "";
  for (let i = 0; i < length; i++) s += VALID_NAME_CHARS[rng.int(VALID_NAME_CHARS.length)];
  return s;
}

/** A login or group name: the world's names, random valid ones, and broken ones. */
function name(rng: Rng, world: FuzzWorld, pool: "login" | "group"): string {
  const known = pool === "login"
    ? [...world.passwords.keys(), world.victim, "nobody-here"]
    : [...world.groups];
  return rng.weighted<() => string>([
    [6, () => rng.pick(known)],
    [2, () => rng.pick(known).toUpperCase()],
    [2, () => randomValidName(rng)],
    [1, () => randomValidName(rng, 32)],
    [1, () => randomValidName(rng, 33)],
    [1, () => rng.pick(["public", "PUBLIC", ".", "-", "..", "_", "0", "42"])],
    [2, () => rng.pick(["", "a b", "ä", "#ops", "@fz1", "x".repeat(201), "x".repeat(5000)])],
    [2, () => rng.pick(known) + rng.pick(UNICODE_EDGES)],
    [1, () => unicodeSoup(rng, 3)],
  ])();
}

/** Words that `int` parameters get: in range, out of range, not numbers. */
function intWord(rng: Rng): string {
  return rng.pick([
    "1",
    "20",
    "500",
    "501",
    "0",
    "-1",
    "00001",
    "999999999999999",
    "9999999999999999",
    "1e3",
    "0x10",
    "1.5",
    "٣",
    "１",
    "NaN",
    "-0",
    String(rng.range(1, 100_000)),
  ]);
}

function words(rng: Rng, parts: string[]): string {
  return parts.map((p, i) => (i === 0 ? "" : rng.pick(SEPARATORS)) + p).join("");
}

/** `args` for a command, built from its grammar and then bent. */
function commandArgs(rng: Rng, world: FuzzWorld, cmd: string): string {
  const login = () => name(rng, world, "login");
  const group = () => name(rng, world, "group");
  switch (cmd) {
    case "say":
    case "me":
      return text(rng);
    case "msg":
    case "m":
    case "tell":
      return words(rng, [login(), text(rng)]);
    case "group":
      return words(rng, [rng.pick(GROUP_SUBCOMMANDS), group(), rng.chance(0.5) ? text(rng) : ""]);
    case "group create":
    case "group join":
    case "group leave":
    case "group members":
    case "join":
    case "part":
    case "members":
      return rng.chance(0.9) ? group() : words(rng, [group(), group()]);
    case "group say":
    case "g":
      return words(rng, [group(), text(rng)]);
    case "group kick":
    case "group owner":
    case "group ban":
    case "group unban":
    case "group invite":
      return words(rng, [group(), login()]);
    case "group topic":
      return words(rng, [group(), rng.chance(0.7) ? text(rng) : ""]);
    case "group open":
      return group();
    case "list":
    case "who":
    case "group list":
      return rng.chance(0.8) ? "" : rng.pick(["x", " ", "all", unicodeSoup(rng, 2)]);
    case "history": {
      const target = rng.pick([
        "public",
        "PUBLIC",
        "#" + group(),
        "#",
        "@",
        "@" + login(),
        login(),
        "20",
        "0",
        "501",
        unicodeSoup(rng, 2),
        "w".repeat(around(rng, 200)),
      ]);
      const parts = [target, intWord(rng), intWord(rng), intWord(rng)];
      return words(rng, parts.slice(0, rng.range(0, 4)));
    }
    default:
      return rng.chance(0.5) ? "" : text(rng);
  }
}

/** `/passwd` arguments, for the one peer allowed to send them. */
function passwdArgs(rng: Rng, world: FuzzWorld, peer: PeerInfo): string {
  const current = world.passwords.get((peer.login ?? "").toLowerCase()) ?? "none";
  return rng.weighted<() => string>([
    // The right password, unchanged: exercises the success path and keeps the account usable.
    [1, () => `${current} ${current}`],
    [3, () => `wrong-${rng.int(100)} new-${rng.int(100)}`],
    [2, () => rng.pick(["", "one", "a b c", `${current}`])],
    [2, () => `${"p".repeat(around(rng, MAX_PASSWORD_LENGTH))} x`],
    [1, () => `${unicodeSoup(rng, 3).replace(/\s/g, "")} ${unicodeSoup(rng, 2)}`],
  ])();
}

/** A well-formed `cmd` request for a peer. */
function commandRequest(rng: Rng, world: FuzzWorld, peer: number, id: number): object {
  const info = world.peers[peer];
  if (peer === world.passwdPeer && rng.chance(0.08)) {
    return { op: "cmd", id, cmd: "passwd", args: passwdArgs(rng, world, info) };
  }
  const cmd = rng.chance(0.9) ? rng.pick(BUILTIN_COMMANDS) : rng.pick(ODD_COMMANDS);
  const args = commandArgs(rng, world, cmd.toLowerCase());
  return { op: "cmd", id, cmd, args };
}

/** A login request: valid for the world or broken in one or more fields. */
function loginRequest(
  rng: Rng,
  world: FuzzWorld,
  id: number,
  key?: string,
): Record<string, unknown> {
  const request: Record<string, unknown> = { op: "login", id };
  if (key !== undefined) {
    const named = rng.weighted<() => unknown>([
      [16, () => key],
      [2, () => undefined],
      [1, () => key.slice(1)],
      [1, () => rng.pick(ODD_VALUES)],
    ])();
    if (named !== undefined) request.key = named;
  }
  request.login = rng.chance(0.85) ? name(rng, world, "login") : rng.pick(ODD_VALUES);
  const password = rng.weighted<() => unknown>([
    [3, () => undefined],
    [3, () => ""],
    [3, () => "wrong-" + rng.int(1000)],
    [2, () => "p".repeat(around(rng, MAX_PASSWORD_LENGTH))],
    [1, () => "p".repeat(100_000)],
    [2, () => unicodeSoup(rng, 4)],
    [1, () => rng.pick(ODD_VALUES)],
  ])();
  if (password !== undefined) request.password = password;
  if (rng.chance(0.3)) {
    request.token = rng.weighted<() => unknown>([
      [2, () => rng.pick([...world.tokens.values()])],
      [2, () => "bogus-" + rng.int(1000)],
      [1, () => ""],
      [2, () => "t".repeat(around(rng, MAX_LOGIN_FIELD_LENGTH))],
      [1, () => unicodeSoup(rng, 3)],
      [1, () => rng.pick(ODD_VALUES)],
    ])();
  }
  for (const field of ["client", "host"]) {
    if (rng.chance(0.3)) {
      request[field] = rng.weighted<() => unknown>([
        [2, () => "fuzz"],
        [2, () => "c".repeat(around(rng, MAX_LOGIN_FIELD_LENGTH))],
        [2, () => unicodeSoup(rng, 4)],
        [1, () => rng.pick(ODD_VALUES)],
      ])();
    }
  }
  if (rng.chance(0.05)) request.extra = rng.pick(ODD_VALUES);
  return request;
}

/** `client` and `host` a successful login may carry: short, long, and full of Unicode edges. */
export function loginExtras(rng: Rng): { client?: string; host?: string } {
  const field = () =>
    rng.weighted<() => string | undefined>([
      [2, () => undefined],
      [1, () => ""],
      [2, () => unicodeSoup(rng, rng.range(1, 8)).slice(0, MAX_LOGIN_FIELD_LENGTH)],
      [1, () => filler(rng, around(rng, MAX_LOGIN_FIELD_LENGTH - 1))],
      [1, () => "\u001b[2J\u001b[31m\r\n\u0007"],
    ])();
  return { client: field(), host: field() };
}

/** A valid request a peer may send, as the seed of mutations and batches. */
function validRequest(rng: Rng, world: FuzzWorld, peer: number, id: number): object {
  const role = world.peers[peer].role;
  return rng.weighted<() => object>([
    [2, () => ({ op: "ping", id })],
    [6, () => commandRequest(rng, world, peer, id)],
    [1, () => loginRequest(rng, world, id, world.peers[peer].key)],
    [role === "churn" ? 1 : 0, () => ({ op: "logout", id })],
  ])();
}

/** A request with one field of the wrong type or size. */
function wrongFieldRequest(rng: Rng, world: FuzzWorld, peer: number, id: number): object {
  const base = validRequest(rng, world, peer, id) as Record<string, unknown>;
  const fields = ["id", "op", "cmd", "args", "login", "password", "token", "client", "host"];
  const count = rng.range(1, 3);
  for (let i = 0; i < count; i++) {
    const field = rng.pick(fields);
    base[field] = field === "op"
      ? rng.pick(ODD_OPS)
      : field === "id"
      ? rng.pick([...ODD_VALUES, -1, -(2 ** 53), 2 ** 53 + 2, 0.999, 1e21, "5", "0x1"])
      : rng.pick(ODD_VALUES);
  }
  if (rng.chance(0.1)) delete base[rng.pick(fields)];
  return base;
}

function body(messages: readonly unknown[]): string {
  return JSON.stringify(messages);
}

/** A request whose `id` is written as raw JSON text. */
function rawIdBody(rng: Rng, world: FuzzWorld, peer: number): string {
  const request = JSON.stringify(validRequest(rng, world, peer, 1));
  return `[${request.replace(/"id":\d+/, `"id":${rng.pick(RAW_IDS)}`)}]`;
}

// ---------------------------------------------------------------------------------------------
// Mutation

const INTERESTING_BYTES = [0x22, 0x5c, 0x2c, 0x7b, 0x7d, 0x5b, 0x5d, 0x3a, 0x00, 0xff, 0x80, 0xc0];

/** Byte-level damage: bit flips, deletions, insertions, duplicated and swapped slices. */
export function mutateBytes(rng: Rng, input: Uint8Array, rounds: number): Uint8Array {
  let bytes = Array.from(input);
  for (let r = 0; r < rounds; r++) {
    const at = bytes.length === 0 ? 0 : rng.int(bytes.length);
    switch (rng.int(6)) {
      case 0:
        if (bytes.length) bytes[at] ^= 1 << rng.int(8);
        break;
      case 1:
        bytes.splice(at, rng.range(1, 4));
        break;
      case 2:
        bytes.splice(at, 0, rng.chance(0.5) ? rng.pick(INTERESTING_BYTES) : rng.int(256));
        break;
      case 3: {
        const len = rng.range(1, 16);
        bytes.splice(at, 0, ...bytes.slice(at, at + len));
        break;
      }
      case 4: {
        const other = rng.int(Math.max(1, bytes.length));
        [bytes[at], bytes[other]] = [bytes[other], bytes[at]];
        bytes = bytes.filter((b) => b !== undefined);
        break;
      }
      case 5:
        if (bytes.length) bytes[at] = rng.pick(INTERESTING_BYTES);
        break;
    }
  }
  return new Uint8Array(bytes);
}

/** Structure-level damage: field values swapped, dropped, retyped or duplicated. */
function mutateObject(rng: Rng, request: Record<string, unknown>): string {
  const keys = Object.keys(request);
  switch (rng.int(5)) {
    case 0: {
      const a = rng.pick(keys);
      const b = rng.pick(keys);
      [request[a], request[b]] = [request[b], request[a]];
      break;
    }
    case 1:
      delete request[rng.pick(keys)];
      break;
    case 2:
      request[rng.pick(keys)] = rng.pick(ODD_VALUES);
      break;
    case 3: {
      // Duplicate keys: JSON.parse keeps the last one.
      const key = rng.pick(keys);
      const json = JSON.stringify(request);
      return json.slice(0, -1) + `,${JSON.stringify(key)}:${JSON.stringify(rng.pick(ODD_VALUES))}}`;
    }
    case 4: {
      const a = rng.pick(keys);
      const b = rng.pick(["id", "op", "cmd", "args", "login", "re", "type"]);
      if (a !== b) {
        request[b] = request[a];
        delete request[a];
      }
      break;
    }
  }
  return JSON.stringify(request);
}

// ---------------------------------------------------------------------------------------------
// The generator

/** Per-run budget of frames near 1 MiB: each costs a megabyte of copying on both sides. */
export interface Budget {
  big: number;
}

/** Makes case number `index`; consumes the PRNG the same way whatever the server answered. */
export function generateCase(rng: Rng, world: FuzzWorld, index: number, budget: Budget): FuzzCase {
  const chatPeers = world.peers.map((p, i) => ({ ...p, i })).filter((p) => p.role !== "dropper");
  const peer = rng.pick(chatPeers).i;
  const id = 1_000_000 + index;
  const kind = rng.weighted<CaseKind>([
    [6, "frame-count"],
    [5, "version"],
    [9, "broken-json"],
    [5, "shape"],
    [5, "batch"],
    [12, "field-types"],
    [10, "login"],
    [28, "command"],
    [16, "mutation"],
    [budget.big > 0 ? 1.5 : 0, "big"],
  ]);
  const one = (value: unknown) => [PROTOCOL_VERSION, body([value])];
  const ok = () => JSON.stringify([validRequest(rng, world, peer, id)]);
  let frames: Frames;
  let to = peer;
  switch (kind) {
    case "frame-count": {
      const n = rng.range(0, 5);
      const pool: (() => string | Uint8Array)[] = [
        () => PROTOCOL_VERSION,
        () => ok(),
        () => "",
        () => randomBytes(rng, rng.range(0, 64)),
        () => "[]",
      ];
      frames = Array.from({ length: n }, () => rng.pick(pool)());
      break;
    }
    case "version": {
      const version = rng.weighted<() => string | Uint8Array>([
        [
          2,
          () => rng.pick(["", "chatz/2", "chatz/0", "CHATZ/1", "chatz/1 ", " chatz/1", "chatz/"]),
        ],
        [2, () => rng.pick(["chatz/1\0", "chatz/1\n", "chatz/1.0", "chatz/\u0661", "chatz/１"])],
        [1, () => randomBytes(rng, rng.range(1, 32))],
        [1, () => new Uint8Array([0x63, 0x68, 0x61, 0x74, 0x7a, 0x2f, 0x31, 0x80])],
        [1, () => PROTOCOL_VERSION.repeat(rng.range(2, 10_000))],
        [1, () => unicodeSoup(rng, 3)],
      ])();
      frames = rng.chance(0.2) ? [ok()] : rng.chance(0.2) ? [ok(), version] : [version, ok()];
      break;
    }
    case "broken-json": {
      const valid = ok();
      const b = rng.weighted<() => string | Uint8Array>([
        [3, () => valid.slice(0, rng.int(valid.length))],
        [2, () => valid + rng.pick(["]", ",", "x", "\u0000", " // c", "[]"])],
        [2, () => randomBytes(rng, rng.range(0, 200))],
        [3, () => insertInvalidUtf8(rng, enc.encode(valid))],
        [1, () => "\uFEFF" + valid],
        [1, () => "[".repeat(rng.range(1, 100_000))],
        [1, () => {
          const depth = rng.range(1, 50_000);
          return "[".repeat(depth) + "]".repeat(depth);
        }],
        [1, () => {
          const depth = rng.range(1, 20_000);
          return "[" + '{"a":'.repeat(depth) + "1" + "}".repeat(depth) + "]";
        }],
        [
          2,
          () =>
            rng.pick([
              "",
              " ",
              "[,]",
              "[1,]",
              "[{'op':'ping','id':1}]",
              '[{op:"ping",id:1}]',
              '[{"op":"ping","id":1,}]',
              "[NaN]",
              "[undefined]",
              '["\\uD800"]',
              '["\\u12"]',
              '["\\x41"]',
              "[0x10]",
              '[{"op":"ping","id":1}]]',
              "[/* c */]",
              '[{"op":"ping","id":1}\u0000]',
            ]),
        ],
      ])();
      frames = [PROTOCOL_VERSION, b];
      break;
    }
    case "shape": {
      const b = rng.pick([
        "{}",
        '{"op":"ping","id":1}',
        '{"0":{"op":"ping","id":1},"length":1}',
        "42",
        "-0",
        "1e999",
        '"[]"',
        "null",
        "true",
        "[[]]",
        "[[1,2],[3]]",
        "[null]",
        "[1.5]",
        '["ping"]',
        "[{}]",
        '[{"id":1}]',
        '[{"op":"ping"}]',
        '[[{"op":"ping","id":1}]]',
        '[{"__proto__":{"op":"ping","id":1}}]',
        '[{"op":"ping","id":{"valueOf":1}}]',
        '[true,false,null,0,"",[],{}]',
      ]);
      frames = [PROTOCOL_VERSION, rng.chance(0.3) ? rawIdBody(rng, world, peer) : b];
      break;
    }
    case "batch": {
      const n = rng.weighted<() => number>([
        [2, () => 0],
        [3, () => rng.range(1, 20)],
        [2, () => MAX_BATCH + rng.range(-1, 1)],
        [2, () => rng.range(0, 600)],
        [1, () => 600],
      ])();
      const items = Array.from({ length: n }, (_, k) => cheapItem(rng, world, peer, id * 1000 + k));
      frames = [PROTOCOL_VERSION, body(items)];
      break;
    }
    case "field-types":
      frames = one(wrongFieldRequest(rng, world, peer, id));
      break;
    case "login":
      frames = one(loginRequest(rng, world, id, world.peers[peer].key));
      break;
    case "command": {
      const requests = Array.from(
        { length: rng.chance(0.8) ? 1 : rng.range(2, 6) },
        (_, k) => commandRequest(rng, world, peer, id * 10 + k),
      );
      frames = [PROTOCOL_VERSION, body(requests)];
      break;
    }
    case "mutation": {
      const request = validRequest(rng, world, peer, id) as Record<string, unknown>;
      if (rng.chance(0.4)) {
        frames = [PROTOCOL_VERSION, `[${mutateObject(rng, request)}]`];
      } else {
        const bytes = enc.encode(JSON.stringify([request]));
        frames = [PROTOCOL_VERSION, mutateBytes(rng, bytes, rng.range(1, 4))];
      }
      break;
    }
    case "big": {
      budget.big--;
      const pick = rng.int(6);
      if (pick === 0) frames = [PROTOCOL_VERSION, padded(MAX_FRAME_BYTES, id)];
      else if (pick === 1) frames = [PROTOCOL_VERSION, padded(MAX_FRAME_BYTES + 1, id)];
      else if (pick === 2) frames = [PROTOCOL_VERSION, padded(ZMQ_MAX_FRAME, id)];
      else if (pick === 3) frames = ["v".repeat(ZMQ_MAX_FRAME), padded(100, id)];
      else {
        // Over libzmq's limit: the connection drops, so only the dropper gets these.
        to = world.peers.findIndex((p) => p.role === "dropper");
        frames = pick === 4
          ? [PROTOCOL_VERSION, padded(ZMQ_MAX_FRAME + 1, id)]
          : ["v".repeat(ZMQ_MAX_FRAME + 1), "[]"];
      }
      break;
    }
  }
  return { index, kind, peer: route(world, to, frames), frames };
}

/** A batch item that costs the server little, so 600 of them stay cheap. */
function cheapItem(rng: Rng, world: FuzzWorld, peer: number, id: number): unknown {
  return rng.weighted<() => unknown>([
    [4, () => ({ op: "ping", id })],
    [2, () => rng.pick(ODD_VALUES)],
    [2, () => wrongFieldRequest(rng, world, peer, id)],
    [2, () => ({ op: "cmd", id, cmd: rng.pick(["list", "who", "frob", "group list", "LIST"]) })],
    [1, () => ({ op: "cmd", id, cmd: "say", args: rng.pick(["hi", "", "\uD800", "x y"]) })],
    [1, () => ({ op: "login", id, login: rng.pick(["", "a b", "public", "é"]), password: "x" })],
  ])();
}

/** A JSON array of one ping, padded with spaces to exactly `size` bytes. */
function padded(size: number, id: number): string {
  const head = `[{"op":"ping","id":${id}}`;
  return head + " ".repeat(Math.max(0, size - head.length - 1)) + "]";
}

function insertInvalidUtf8(rng: Rng, bytes: Uint8Array): Uint8Array {
  const bad = rng.pick([
    [0xff],
    [0xc0, 0x80],
    [0xed, 0xa0, 0x80],
    [0xf0, 0x9f, 0x98],
    [0x80],
    [0xf8, 0x88, 0x80, 0x80, 0x80],
    [0xf4, 0x90, 0x80, 0x80],
    [0xe0, 0x80, 0xaf],
  ]);
  const at = rng.int(bytes.length + 1);
  return new Uint8Array([...bytes.slice(0, at), ...bad, ...bytes.slice(at)]);
}

// ---------------------------------------------------------------------------------------------
// Routing: keep every peer in its role whatever the generator made

/** Sends a frame elsewhere when it would break a peer's role; otherwise where it was meant to go. */
function route(world: FuzzWorld, peer: number, frames: Frames): number {
  if (world.peers[peer].role === "dropper") return peer;
  // A lone empty frame has the shape of libzmq's connection notice: it ends the sender's session.
  if (isNoticeShape(frames)) return world.peers.findIndex((p) => p.role === "dropper");
  const items = decodable(frames);
  if (!items) return peer;
  const churn = world.peers.find((p) => p.role === "churn")?.login?.toLowerCase();
  const flags = {
    succeeds: false,
    counts: false,
    countsChurn: false,
    logout: false,
    passwd: false,
  };
  for (const item of items) {
    if (!hasUsableId(item)) continue;
    const effect = loginEffect(world, item);
    if (effect === "succeeds") flags.succeeds = true;
    if (effect === "counts") {
      flags.counts = true;
      if (String(item.login).toLowerCase() === churn) flags.countsChurn = true;
    }
    if (item.op === "logout") flags.logout = true;
    if (item.op === "cmd" && typeof item.cmd === "string" && item.cmd.toLowerCase() === "passwd") {
      flags.passwd = true;
    }
  }
  // The churn peer may be logged out, when a body over 16 KiB is refused whole: none goes to it.
  const big = bodyBytes(frames) > MAX_LOGIN_FRAME_BYTES;
  const allowed = (i: number): boolean => {
    const role = world.peers[i].role;
    if (role === "dropper") return false;
    if (big && role === "churn") return false;
    // Only a logged-in peer may get a login that would succeed: it answers already_logged_in.
    if ((flags.succeeds || flags.countsChurn) && role !== "user") return false;
    // A counted failure would throttle the churn peer's next login (per connection).
    if (flags.counts && role === "churn") return false;
    if (flags.logout && role === "user") return false;
    // A wrong current password throttles the account's logins; only the passwd peer may pay that.
    if (flags.passwd && role !== "anon" && i !== world.passwdPeer) return false;
    return true;
  };
  for (let k = 0; k < world.peers.length; k++) {
    const i = (peer + k) % world.peers.length;
    if (allowed(i)) return i;
  }
  // Contradictory needs (a logout and a login that succeeds): the dropper's answers are not judged.
  return world.peers.findIndex((p) => p.role === "dropper");
}

/**
 * What a login request can do to the server's state: log in, count as a throttled failure, or neither.
 * Mirrors docs/PROTOCOL.md section 3.2; "counts" also covers the scrypt check of an existing account.
 */
function loginEffect(
  world: FuzzWorld,
  item: Record<string, unknown>,
): "succeeds" | "counts" | "none" {
  if (item.op !== "login" || fieldViolations(item).length > 0) return "none";
  const login = item.login as string;
  if (!/^[A-Za-z0-9_.-]{1,32}$/.test(login) || login.toLowerCase() === "public") return "none";
  const key = login.toLowerCase();
  if (typeof item.token === "string") {
    return world.tokens.get(key) === item.token ? "succeeds" : "counts";
  }
  const password = typeof item.password === "string" ? item.password : "";
  if (password === "") return "none";
  const known = world.passwords.get(key);
  if (known !== undefined) return known === password ? "succeeds" : "counts";
  if (key === world.victim.toLowerCase()) return "counts";
  return "succeeds"; // registration is open: a new account, and an scrypt hash
}

// ---------------------------------------------------------------------------------------------
// The oracle: what the protocol document says a frame must get back

/** What a request with a usable id must be answered with. */
export interface Expectation {
  /** The reply's `re`, as JSON text (so -0 and 0 are one key). */
  key: string;
  /** Acceptable outcomes: error codes, or "ok"; undefined when it depends on server state. */
  outcomes?: readonly string[];
  /** The request, shortened, for failure messages. */
  request?: string;
}

/** What one frame list must cause. */
export interface FrameOracle {
  /** No chatz message: nothing sent (0 frames) or a frame over libzmq's limit (connection dropped). */
  silent?: "nothing" | "dropped";
  /** The error event for an undecodable frame. */
  frameError?: "bad_frame" | "bad_version" | "too_large";
  /** `bad_request` error events for items that are not objects or have no usable id. */
  itemErrors: number;
  replies: Expectation[];
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function bytesOf(frame: string | Uint8Array): Uint8Array {
  return typeof frame === "string" ? enc.encode(frame) : frame;
}

/** The decoded items of a frame list the server accepts, or undefined. */
function decodable(frames: Frames): Record<string, unknown>[] | undefined {
  const oracle = decodeLikeSpec(frames);
  return Array.isArray(oracle)
    ? oracle.filter((v): v is Record<string, unknown> => isPlainObject(v))
    : undefined;
}

function decodeLikeSpec(
  frames: Frames,
  maxBytes = MAX_FRAME_BYTES,
): unknown[] | "nothing" | "dropped" | "bad_frame" | "bad_version" | "too_large" {
  if (frames.length === 0 || isNoticeShape(frames)) return "nothing";
  const bytes = frames.map(bytesOf);
  if (bytes.some((b) => b.byteLength > ZMQ_MAX_FRAME)) return "dropped";
  if (bytes.length !== 2) return "bad_frame";
  const [version, b] = bytes;
  if (!sameBytes(version, enc.encode(PROTOCOL_VERSION))) return "bad_version";
  if (b.byteLength > maxBytes) return "too_large";
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(b));
  } catch {
    return "bad_frame";
  }
  if (!Array.isArray(value)) return "bad_frame";
  if (value.length > MAX_BATCH) return "too_large";
  return value;
}

/** The size of a frame list's second frame, the body (0 when there is none). */
function bodyBytes(frames: Frames): number {
  return frames.length < 2 ? 0 : bytesOf(frames[1]).byteLength;
}

/** One empty frame: what libzmq delivers when a connection starts or ends (PROTOCOL.md, 1.2). */
function isNoticeShape(frames: Frames): boolean {
  return frames.length === 1 && bytesOf(frames[0]).byteLength === 0;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function hasUsableId(item: Record<string, unknown>): boolean {
  const id = item.id;
  return typeof id === "number" && Number.isSafeInteger(id) && id >= 0;
}

/** Codes for the per-op field checks (docs/PROTOCOL.md sections 1.3 and 2.1) this request breaks. */
function fieldViolations(item: Record<string, unknown>): string[] {
  const codes: string[] = [];
  const isString = (v: unknown) => typeof v === "string";
  const tooLong = (v: unknown, max: number) => typeof v === "string" && v.length > max;
  if (item.op === "login") {
    if (!isString(item.login)) codes.push("bad_request");
    for (const field of ["password", "token", "client", "host"]) {
      if (item[field] !== undefined && !isString(item[field])) codes.push("bad_request");
    }
    if (tooLong(item.password, MAX_PASSWORD_LENGTH)) codes.push("bad_password");
    if (item.token === "") codes.push("bad_request"); // section 3.4: an empty token is refused
    // Section 2.1: `key` is a CURVE public key, 40 characters of Z85.
    if (item.key !== undefined && !(isString(item.key) && isCurveKey(item.key as string))) {
      codes.push("bad_request");
    }
    for (const field of ["token", "client", "host"]) {
      if (tooLong(item[field], MAX_LOGIN_FIELD_LENGTH)) codes.push("too_large");
    }
  } else if (item.op === "cmd") {
    const cmd = item.cmd;
    if (!isString(cmd) || (cmd as string).length === 0 || (cmd as string).length > MAX_CMD_LENGTH) {
      codes.push("bad_request");
    }
    if (item.args !== undefined && item.args !== null && !isString(item.args)) {
      codes.push("bad_request");
    }
    if (tooLong(item.args, MAX_ARGS_LENGTH)) codes.push("too_large");
  }
  return codes;
}

/** The outcome the document fixes for a valid command from a logged-in peer, when it fixes one. */
function commandOutcome(cmd: string, args: string): readonly string[] | undefined {
  const word = cmd.toLowerCase();
  if (!KNOWN_COMMANDS.has(word)) return ["unknown_command"];
  const line = trimArgs(args); // ASCII whitespace only (section 4.2)
  switch (word) {
    case "say":
    case "me":
      if (line === "") return ["bad_arguments"];
      return line.length > MAX_TEXT_LENGTH ? ["too_large"] : ["ok"];
    case "list":
    case "who":
    case "group list":
      return line === "" ? ["ok"] : ["bad_arguments"];
    default:
      return undefined;
  }
}

/** What a frame list sent by a peer in `role` must get back, from the protocol document alone. */
export function oracle(frames: Frames, role: PeerRole): FrameOracle {
  // Before login a body may be 16 KiB at most (docs/PROTOCOL.md, 1.3).
  const decoded = decodeLikeSpec(frames, role === "anon" ? MAX_LOGIN_FRAME_BYTES : MAX_FRAME_BYTES);
  if (decoded === "nothing" || decoded === "dropped") {
    return { silent: decoded, itemErrors: 0, replies: [] };
  }
  if (!Array.isArray(decoded)) return { frameError: decoded, itemErrors: 0, replies: [] };
  const result: FrameOracle = { itemErrors: 0, replies: [] };
  for (const item of decoded) {
    if (!isPlainObject(item) || !hasUsableId(item)) {
      result.itemErrors++;
      continue;
    }
    const outcomes = outcomeOf(item, role);
    const text = JSON.stringify(item);
    const request = text.length > 240 ? text.slice(0, 240) + `… (${text.length} chars)` : text;
    result.replies.push({ key: JSON.stringify(item.id), outcomes, request });
  }
  return result;
}

function outcomeOf(item: Record<string, unknown>, role: PeerRole): readonly string[] | undefined {
  const outcomes = documentedOutcome(item, role);
  return outcomes && newFieldBroken(item) ? [...outcomes, "bad_request"] : outcomes;
}

/**
 * Whether a field that newer servers check and older ones ignore (a command's client message id
 * `cid`, a login's `resume` point) is malformed: then `bad_request` is a right answer too.
 */
function newFieldBroken(item: Record<string, unknown>): boolean {
  if (item.op === "cmd" && item.cid !== undefined) {
    const cid = item.cid;
    return typeof cid !== "string" || cid.length === 0 || cid.length > MAX_CID_LENGTH;
  }
  if (item.op === "login" && item.resume !== undefined) {
    const resume = item.resume;
    return typeof resume !== "number" || !Number.isSafeInteger(resume) || resume < 0;
  }
  return false;
}

function documentedOutcome(
  item: Record<string, unknown>,
  role: PeerRole,
): readonly string[] | undefined {
  const op = item.op;
  if (typeof op !== "string") return ["bad_request"];
  if (!["login", "cmd", "ping", "logout"].includes(op)) return ["unknown_op"];
  if (op === "ping") return ["ok"];
  const violations = fieldViolations(item);
  if (violations.length > 0) return [...new Set(violations)];
  if (op === "cmd" && item.args === null) return undefined; // not a string, yet taken as ""
  const loggedIn = role === "user" ? true : role === "anon" ? false : undefined;
  if (loggedIn === undefined) return undefined;
  switch (op) {
    case "login":
      return loggedIn ? ["already_logged_in"] : undefined;
    case "logout":
      return loggedIn ? ["ok"] : ["not_logged_in"];
    default: {
      if (!loggedIn) return ["not_logged_in"];
      const outcomes = commandOutcome(item.cmd as string, (item.args as string | undefined) ?? "");
      // A server with a flood limit may refuse any command of a logged-in account.
      return outcomes && [...outcomes, "rate_limited"];
    }
  }
}

/** A short, printable description of a frame list, for failure messages. */
export function describeFrames(frames: Frames, max = 160): string {
  return frames.map((f) => {
    const t = typeof f === "string" ? f : `bytes(${f.byteLength}):` + new TextDecoder().decode(f);
    const shown = JSON.stringify(t.length > max ? t.slice(0, max) + "…" : t);
    return t.length > max ? `${shown} (${t.length} chars)` : shown;
  }).join(" | ");
}
