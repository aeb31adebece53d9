// One simulated client of the benchmark: a DEALER socket driven by its own socket loop.
// Speaks chatz (login, pipelined commands acknowledged by replies) or the baseline's forwarding.

import { monotonicNs } from "./clock.ts";
import { Dealer } from "zeromq";
import { REDIAL_BACKOFF } from "../client/connection.ts";
import { backoffCeiling } from "../transport/backoff.ts";
import { curveClientOptions } from "../transport/curve.ts";
import { type SocketLoop, startSocketLoop } from "../transport/socket_loop.ts";
import { countFrame } from "./scan.ts";
import {
  type LoadSettings,
  type PeerReport,
  type PeerSpec,
  TEXT_BYTES,
  type WindowCounts,
} from "./load_protocol.ts";

const VERSION = "chatz/1";
/** The start of a streamed chatz request, up to its command (the bundled client's key order). */
const REQUEST_HEAD = '{"op":"cmd"';
/** The plain text of streamed messages. */
const PLAIN_TEXT = "x".repeat(TEXT_BYTES);
/**
 * A login handed to a connection that then went away (a re-dial racing the handshake, a restart) is
 * never answered: it is sent again after this long. A duplicate that does arrive is answered
 * `already_logged_in`, which counts as logged in.
 */
const RESEND_MS = 3000;
/** After a `bye`, the login waits for the old connection to drop, but no longer than this. */
const RELOGIN_FALLBACK_MS = 5000;
/** An idle session pings after this long without sending: chatz ends sessions silent for 15 s. */
const PING_AFTER_MS = 4000;
/** Errors kept per peer: the first few tell the story. */
const MAX_ERRORS = 5;
/**
 * Baseline receivers return credit once a burst of received messages reaches this share of the
 * window (and every tick for the rest): a credit per message would double the router's frames.
 */
const CREDIT_SHARE = 1 / 16;

const CREDIT = "credit ";
const HELLO = "hello";
/** First byte of a baseline frame that carries a chat message event: `{`. */
const EVENT_START = 0x7b;
const utf8 = new TextDecoder();
const encoder = new TextEncoder();

/** A text of exactly TEXT_BYTES bytes that starts with its send time: `t<ns>xxxx…`. */
export function stampedText(ns: bigint): string {
  const head = `t${ns}`;
  return head + "x".repeat(Math.max(0, TEXT_BYTES - head.length));
}

/** The send time inside a stamped text, or undefined for other texts. */
export function stampOf(text: string): bigint | undefined {
  if (!text.startsWith("t")) return undefined;
  const end = text.indexOf("x");
  return /^\d+$/.test(text.slice(1, end)) ? BigInt(text.slice(1, end)) : undefined;
}

interface ReplyLike {
  re: number;
  ok: boolean;
  code?: string;
  message?: string;
  data?: { id?: number; queued?: boolean; token?: string; messages?: unknown[] };
}

type Waiter = (reply: ReplyLike, atNs: bigint) => void;

/** A benchmark client; the worker that owns it calls `tick` regularly and reacts to `onChange`. */
export class Peer {
  readonly spec: PeerSpec;
  readonly #settings: LoadSettings;
  readonly #socket: Dealer;
  readonly #loop: SocketLoop;
  readonly #onChange: () => void;
  readonly #waiters = new Map<number, Waiter>();
  readonly #parseAll: boolean;
  #nextId = 1;
  /** The next client message id's counter, apart from request ids as in client/connection.ts. */
  #nextCid = 1;
  #lastSentMs = 0;
  #closed = false;

  // Session state.
  loggedIn = false;
  #token: string | undefined;
  #loginPending:
    | { redialAtMs: number; redials: number; handedAtMs?: number }
    | undefined;
  #needLoginSinceMs: number | undefined;
  #logins = 0;
  #firstLoginNs: bigint | undefined;
  #lastLoginNs: bigint | undefined;

  // Counts since the last `resetCounts`.
  #sent = 0;
  #acked = 0;
  #failed = 0;
  #received = 0;
  #skipped = 0;
  #redials = 0;
  #resends = 0;
  #drops = 0;
  #told = 0;
  #duplicates = 0;
  #presence = 0;
  readonly #sendErrors: Record<string, number> = {};
  readonly #byes: Record<string, number> = {};
  readonly #errors: string[] = [];
  /** Senders (baseline): the highest count each receiver has credited. */
  readonly #credits = new Map<string, number>();
  /** Receivers (baseline): `#received` when credit was last returned, and how often to return it. */
  #credited = 0;
  readonly #creditStep: number;
  #window: WindowCounts | undefined;
  #windowStart:
    | { sent: number; acked: number; received: number; ns: bigint; lateNs: bigint }
    | undefined;
  #schedule: { fromNs: bigint; toNs: bigint } | undefined;
  #latency: { fromNs: bigint; toNs: bigint; samples: number[] } | undefined;
  #rttUs: number[] | undefined;

  // Sending state.
  #streaming = false;
  #pacing: ReturnType<typeof setTimeout> | undefined;
  /** chatz: the encoded rest of a streamed request after its id; baseline: the streamed event. */
  #plainTail: string | undefined;
  /** The prefix of this peer's client message ids, random per peer as the client's per connection. */
  readonly #cidPrefix = crypto.randomUUID().slice(0, 8);
  #plainEvent: Uint8Array | undefined;
  /** Baseline: the routing ids of the destinations, encoded once. */
  #routes: Uint8Array[] | undefined;

  /** The CURVE public key its logins name, as the chatz client's do; undefined in clear. */
  readonly #key: string | undefined;

  constructor(spec: PeerSpec, settings: LoadSettings, onChange: () => void) {
    this.spec = spec;
    this.#settings = settings;
    this.#onChange = onChange;
    this.#token = spec.token;
    this.#parseAll = spec.latency === true || spec.role === "history";
    this.#creditStep = Math.max(1, Math.floor(settings.window * CREDIT_SHARE));
    const curve = settings.serverKey === undefined
      ? undefined
      : curveClientOptions(settings.serverKey);
    this.#key = curve?.curvePublicKey;
    this.#socket = new Dealer({
      receiveTimeout: 0,
      sendTimeout: 0,
      linger: 0,
      immediate: true, // as the chatz client: nothing queues on a connection that is not up
      reconnectInterval: 100,
      reconnectMaxInterval: 2000,
      ...(settings.dialect === "baseline" ? { routingId: spec.name } : {}),
      ...curve,
    });
    this.#loop = startSocketLoop(this.#socket, {
      onMessage: (frames) => this.#onFrames(frames),
      onDrained: () => this.#onDrained(),
      onHandlerError: (error) => this.#error(`handler failed: ${error}`),
      onSendError: (_frames, error) => {
        this.#sendErrors[error.code ?? "unknown"] =
          (this.#sendErrors[error.code ?? "unknown"] ?? 0) + 1;
      },
    }, { checkWritable: true });
    this.#socket.connect(settings.endpoint);
  }

  get #chatz(): boolean {
    return this.#settings.dialect === "chatz";
  }

  get #inflight(): number {
    if (this.#chatz) return this.#sent - this.#acked - this.#failed;
    let credited = Infinity;
    for (const to of this.#destinations()) {
      credited = Math.min(credited, this.#credits.get(to) ?? 0);
    }
    return this.#sent - (credited === Infinity ? this.#sent : credited);
  }

  /** Sends the first login (chatz) or the hello that proves the route (baseline). */
  login(): void {
    this.#sendLogin();
  }

  /** Runs the spec's setup commands in order; rejects on the first refusal. */
  async runCommands(timeoutMs: number): Promise<void> {
    for (const { cmd, args } of this.spec.commands ?? []) {
      const { reply } = await this.request({ op: "cmd", cmd, args }, timeoutMs);
      if (!reply.ok) {
        throw new Error(`Cannot run "/${cmd} ${args}" as ${this.spec.name}: ${reply.code}`);
      }
    }
  }

  /** Sends one chatz request and resolves with its reply and the time the reply arrived. */
  request(
    body: Record<string, unknown>,
    timeoutMs: number,
  ): Promise<{ reply: ReplyLike; atNs: bigint }> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(id);
        reject(
          new Error(`No reply to ${String(body.op)} ${id} of ${this.spec.name} in ${timeoutMs} ms`),
        );
      }, timeoutMs);
      this.#waiters.set(id, (reply, atNs) => {
        clearTimeout(timer);
        resolve({ reply, atNs });
      });
      this.#send([{ ...body, id }]);
    });
  }

  /** Forgets the counts of earlier phases, so a run reports only itself. */
  resetCounts(): void {
    this.#sent =
      this.#acked =
      this.#failed =
      this.#received =
      this.#skipped =
        0;
    this.#credits.clear();
    this.#credited = 0;
    this.#window =
      this.#windowStart =
      this.#latency =
      this.#schedule =
        undefined;
  }

  /**
   * Sets the measured window. Its edges are checked after every burst of received frames as well
   * as by the worker's timers, so a window does not depend on timers alone: a busy socket loop
   * yields to them only every so many frames. A count and its time are taken together, so a late
   * edge shifts the window (`lateMs`) but does not skew its rate.
   */
  scheduleWindow(fromNs: bigint, toNs: bigint): void {
    this.#schedule = { fromNs, toNs };
  }

  /** Opens or closes the window when its edge has passed; stops sending when it has closed. */
  checkWindow(now = monotonicNs()): void {
    const schedule = this.#schedule;
    if (!schedule || now < schedule.fromNs) return;
    if (!this.#windowStart) {
      this.#windowStart = {
        sent: this.#sent,
        acked: this.#acked,
        received: this.#received,
        ns: now,
        lateNs: now - schedule.fromNs,
      };
      if (this.spec.latency) this.#latency = { fromNs: now, toNs: schedule.toNs, samples: [] };
    }
    if (now < schedule.toNs) return;
    const start = this.#windowStart;
    this.#window = {
      sent: this.#sent - start.sent,
      acked: this.#acked - start.acked,
      received: this.#received - start.received,
      ns: Number(now - start.ns),
      lateMs: Number(start.lateNs + (now - schedule.toNs)) / 1e6,
    };
    this.#schedule = undefined;
    this.stopSending();
  }

  /** Senders: streams as fast as the window allows until `stopSending`. */
  startStreaming(): void {
    if (this.spec.role !== "sender") return;
    this.#streaming = true;
    this.#topUp();
  }

  /** Pacers: offers `rate` messages per second in small bursts, each stamped with its send time. */
  startPacing(startNs: bigint, rate: number): void {
    if (this.spec.role !== "pacer") return;
    const tick = () => {
      const now = monotonicNs();
      const due = Math.floor((Number(now - startNs) * rate) / 1e9);
      let n = Math.min(due - this.#sent - this.#skipped, this.#settings.batch);
      const room = this.#settings.window - this.#inflight;
      if (n > room) {
        this.#skipped += n - Math.max(0, room);
        n = room;
      }
      if (n > 0) this.#sendMessages(n, stampedText(now));
      this.#pacing = setTimeout(tick, 1);
    };
    tick();
  }

  /** Stops streaming and pacing; acknowledgements still count. */
  stopSending(): void {
    this.#streaming = false;
    clearTimeout(this.#pacing);
    this.#pacing = undefined;
  }

  /** True when everything sent has been acknowledged or credited. */
  get settled(): boolean {
    return this.#inflight <= 0;
  }

  /** Received chat messages since the last reset. */
  get received(): number {
    return this.#received;
  }

  get logins(): number {
    return this.#logins;
  }

  /** Timed `/history` round trips, one at a time; the first `warmup` are not kept. */
  async history(args: string, warmup: number, count: number, timeoutMs: number): Promise<void> {
    const rtts: number[] = [];
    for (let i = 0; i < warmup + count; i++) {
      const sentNs = monotonicNs();
      const { reply, atNs } = await this.request({ op: "cmd", cmd: "history", args }, timeoutMs);
      if (!reply.ok) throw new Error(`Cannot read history: ${reply.code}: ${reply.message}`);
      const got = reply.data?.messages?.length ?? 0;
      if (i === 0) this.#received = got;
      else if (got !== this.#received) {
        this.#error(`history page of ${got}, first was ${this.#received}`);
      }
      if (i >= warmup) rtts.push(Number(atNs - sentNs) / 1000);
    }
    this.#rttUs = rtts;
  }

  /** Keeps the session: pings, re-dials a login that cannot be sent, logs in after a `bye`. */
  tick(nowMs: number): void {
    if (this.#closed) return;
    if (this.#needLoginSinceMs !== undefined) {
      // Wait for the old connection to drop, so the login is not lost in it.
      if (!this.#socket.writable || nowMs - this.#needLoginSinceMs >= RELOGIN_FALLBACK_MS) {
        this.#needLoginSinceMs = undefined;
        this.#sendLogin();
      }
      return;
    }
    const pending = this.#loginPending;
    if (pending) {
      if (this.#loop.pending === 0) pending.handedAtMs ??= nowMs; // within a tick of the truth
      if (nowMs >= pending.redialAtMs && this.#loop.pending > 0) {
        this.#redials++;
        // As the client does (REDIAL_BACKOFF of client/connection.ts): the wait doubles per re-dial.
        pending.redialAtMs = nowMs + backoffCeiling(++pending.redials + 1, REDIAL_BACKOFF);
        try {
          this.#socket.disconnect(this.#settings.endpoint);
        } catch { /* not connected */ }
        this.#socket.connect(this.#settings.endpoint);
      } else if (pending.handedAtMs !== undefined && nowMs - pending.handedAtMs >= RESEND_MS) {
        this.#resends++;
        this.#sendLogin();
      }
      return;
    }
    if (!this.#chatz) {
      this.#returnCredit(1); // what a burst left uncredited
      return;
    }
    if (!this.loggedIn) return;
    if (this.spec.role === "idle" && !this.#socket.writable) {
      // The connection dropped with no `bye` (one lost, or never sent): the session is gone with
      // it, so log in again as soon as the socket is back. Only idle peers: a streaming sender's
      // socket is also unwritable while its queue to the server is full.
      this.#drops++;
      this.loggedIn = false;
      this.#sendLogin();
      return;
    }
    if (
      !this.#streaming && this.#pacing === undefined && this.#waiters.size === 0 &&
      nowMs - this.#lastSentMs >= PING_AFTER_MS
    ) {
      this.#ping();
    }
  }

  /**
   * Told by the orchestrator that the new server listens: a session that noticed nothing (no `bye`
   * came, and the drop was too short to be seen) logs in again now, as does one still waiting.
   */
  serverRestarted(): void {
    if (!this.#chatz) return;
    if (this.#needLoginSinceMs !== undefined) {
      // It had its `bye` and waits to see the old connection drop: no need to wait any more.
      this.#needLoginSinceMs = undefined;
      this.#sendLogin();
      return;
    }
    if (!this.loggedIn) return; // already logging in again
    this.#told++;
    this.loggedIn = false;
    this.#sendLogin();
  }

  /** The socket's state, for error messages: its queue, whether it can send, its re-dials. */
  get state(): string {
    return `queued ${this.#loop.pending}, ${
      this.#socket.writable ? "connected" : "not connected"
    }, ${this.#redials} re-dials, ${this.#waiters.size} unanswered`;
  }

  /** What this peer reports to the orchestrator. */
  report(): PeerReport {
    return {
      name: this.spec.name,
      role: this.spec.role,
      logins: this.#logins,
      firstLoginNs: this.#firstLoginNs?.toString(),
      lastLoginNs: this.#lastLoginNs?.toString(),
      token: this.#token,
      sent: this.#sent,
      acked: this.#acked,
      failed: this.#failed,
      received: this.#received,
      window: this.#window,
      latencyUs: this.#latency?.samples,
      rttUs: this.#rttUs,
      skipped: this.#skipped,
      redials: this.#redials,
      resends: this.#resends,
      drops: this.#drops,
      told: this.#told,
      duplicateLogins: this.#duplicates,
      presence: this.#presence,
      sendErrors: { ...this.#sendErrors },
      byes: { ...this.#byes },
      errors: [...this.#errors],
    };
  }

  /** Stops the loop and closes the socket. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.stopSending();
    await this.#loop.close();
  }

  // ---- sending ----

  #sendLogin(): void {
    const now = Date.now();
    this.#loginPending = {
      redialAtMs: now + backoffCeiling(1, REDIAL_BACKOFF),
      redials: 0,
    };
    if (!this.#chatz) {
      this.#loop.send([this.spec.name, HELLO]);
      return;
    }
    const id = this.#nextId++;
    this.#waiters.set(id, (reply, atNs) => this.#onLoginReply(reply, atNs));
    const credentials = this.#token !== undefined
      ? { token: this.#token }
      : { password: this.spec.password ?? "" };
    // `echo: true` as the bundled client's human modes send it (client/run_connect.ts): every
    // message sent comes back to its sender as an event, which the sender counts as received.
    this.#send([{
      op: "login",
      id,
      login: this.spec.name,
      ...credentials,
      client: "chatz-bench",
      echo: true,
      ...(this.#key === undefined ? {} : { key: this.#key }),
    }]);
  }

  #onLoginReply(reply: ReplyLike, atNs: bigint): void {
    if (reply.code === "already_logged_in") this.#duplicates++;
    if (this.loggedIn) return; // an answer to a resent login
    if (!reply.ok && reply.code !== "already_logged_in") {
      this.#error(`login refused: ${reply.code}: ${reply.message}`);
      return;
    }
    if (reply.data?.token) this.#token = reply.data.token;
    this.#loggedIn(atNs);
  }

  #loggedIn(atNs: bigint): void {
    this.loggedIn = true;
    this.#loginPending = undefined;
    this.#logins++;
    this.#firstLoginNs ??= atNs;
    this.#lastLoginNs = atNs;
  }

  #ping(): void {
    this.#send([{ op: "ping", id: this.#nextId++ }]);
  }

  #send(requests: Record<string, unknown>[]): void {
    this.#lastSentMs = Date.now();
    this.#loop.send([VERSION, JSON.stringify(requests)]);
  }

  #destinations(): string[] {
    const target = this.spec.target;
    if (!target) return [];
    return target.kind === "direct" ? [target.to] : target.members;
  }

  /** Senders: fills the window with full frames, and with a partial one when it runs low. */
  #topUp(): void {
    if (!this.#streaming) return;
    const { window, batch } = this.#settings;
    for (let guard = 0; guard < 1024; guard++) {
      const inflight = this.#inflight;
      const room = window - inflight;
      if (room <= 0 || (room < batch && inflight >= batch)) return;
      this.#sendMessages(Math.min(room, batch), PLAIN_TEXT);
    }
  }

  /**
   * Sends `n` chat messages with one text: chatz, as requests in one frame, each with its own id;
   * the baseline, as one frame per message and destination (a group message: one per member).
   */
  #sendMessages(n: number, text: string): void {
    if (!this.spec.target) return;
    this.#sent += n;
    this.#lastSentMs = Date.now();
    if (this.#chatz) {
      const tail = text === PLAIN_TEXT
        ? (this.#plainTail ??= this.#requestTail(PLAIN_TEXT))
        : this.#requestTail(text);
      const parts = new Array<string>(n);
      // As client/connection.ts writes a command: JSON.stringify({ op, cmd, args, cid, id }), the
      // cid a per-connection prefix and its own counter.
      if (this.spec.cid) {
        const head = REQUEST_HEAD + tail + `,"cid":"${this.#cidPrefix}-`;
        for (let i = 0; i < n; i++) {
          parts[i] = head + this.#nextCid++ + '","id":' + this.#nextId++ + "}";
        }
      } else {
        const head = REQUEST_HEAD + tail + ',"id":';
        for (let i = 0; i < n; i++) parts[i] = head + this.#nextId++ + "}";
      }
      this.#loop.send([VERSION, `[${parts.join(",")}]`]);
      return;
    }
    const event = text === PLAIN_TEXT
      ? (this.#plainEvent ??= this.#encodeEvent(PLAIN_TEXT))
      : this.#encodeEvent(text);
    const routes = this.#routes ??= this.#destinations().map((to) => encoder.encode(to));
    for (let i = 0; i < n; i++) {
      for (const to of routes) this.#loop.send([to, event]);
    }
  }

  /** The command and its arguments in a streamed chatz request: `,"cmd":"msg","args":"u1 <text>"`. */
  #requestTail(text: string): string {
    const target = this.spec.target!;
    const [cmd, to] = target.kind === "direct" ? ["msg", target.to] : ["g", target.group];
    return `,"cmd":"${cmd}","args":${JSON.stringify(`${to} ${text}`)}`;
  }

  /** One event shaped like chatz's own message events, so both targets move the same bytes. */
  #encodeEvent(text: string): Uint8Array {
    const target = this.spec.target!;
    const [scope, to] = target.kind === "direct"
      ? ["direct", `"to":"${target.to}"`]
      : ["group", `"group":"${target.group}"`];
    return encoder.encode(
      `{"type":"message","id":1000000,"ts":1767261600123,"scope":"${scope}","from":"${this.spec.name}","text":${
        JSON.stringify(text)
      },${to}}`,
    );
  }

  // ---- receiving ----

  #onFrames(frames: Uint8Array[]): void {
    if (!this.#chatz) this.#onBaseline(frames[frames.length - 1]);
    else if (frames.length !== 2) this.#error(`frame count ${frames.length}`);
    else this.#onChatz(frames[1]);
  }

  /** After every burst of received frames: window edges, credit, pings, the next sends, waits. */
  #onDrained(): void {
    if (this.#schedule) this.checkWindow();
    if (!this.#chatz) this.#returnCredit(this.#creditStep);
    // Also ping here: a busy socket loop runs its worker's timers only now and then.
    else if (this.loggedIn && Date.now() - this.#lastSentMs >= PING_AFTER_MS) this.#ping();
    this.#topUp();
    this.#onChange();
  }

  #onChatz(body: Uint8Array): void {
    const text = utf8.decode(body);
    if (!this.#parseAll && this.#waiters.size === 0 && this.loggedIn) {
      // The fast path: count without parsing (scan.ts). Refusals, `bye` and the rest are parsed.
      const counts = countFrame(text);
      if (counts) {
        this.#received += counts.messages;
        this.#presence += counts.presence;
        this.#acked += counts.acks;
        return;
      }
    }
    const atNs = monotonicNs();
    let list: unknown;
    try {
      list = JSON.parse(text);
    } catch {
      this.#error("undecodable frame");
      return;
    }
    if (!Array.isArray(list)) return;
    for (const item of list) {
      if (typeof item !== "object" || item === null) continue;
      const message = item as Record<string, unknown>;
      if (typeof message.re === "number") this.#onReply(message as unknown as ReplyLike, atNs);
      else if (message.type === "message") this.#onMessage(message, atNs);
      else if (message.type === "bye") this.#onBye(String(message.code));
      else if (message.type === "presence") this.#presence++;
    }
  }

  #onReply(reply: ReplyLike, atNs: bigint): void {
    const waiter = this.#waiters.get(reply.re);
    if (waiter) {
      this.#waiters.delete(reply.re);
      waiter(reply, atNs);
      return;
    }
    if (!reply.ok) {
      this.#failed++;
      this.#error(`refused: ${reply.code}: ${reply.message}`);
    } else if (typeof reply.data?.id === "number") {
      if (reply.data.queued) {
        this.#failed++;
        this.#error("recipient offline: message queued");
      } else this.#acked++;
    }
  }

  #onMessage(message: Record<string, unknown>, atNs: bigint): void {
    this.#received++;
    const latency = this.#latency;
    if (!latency || typeof message.text !== "string") return;
    const sentNs = stampOf(message.text);
    if (sentNs !== undefined && sentNs >= latency.fromNs && sentNs < latency.toNs) {
      latency.samples.push(Number(atNs - sentNs) / 1000);
    }
  }

  #onBye(code: string): void {
    this.#byes[code] = (this.#byes[code] ?? 0) + 1;
    this.loggedIn = false;
    if (code === "server_shutdown") this.#needLoginSinceMs = Date.now();
    else this.#error(`session ended: ${code}`);
  }

  /** Baseline frames: one chat message event each, a credit, or the hello that proves the route. */
  #onBaseline(body: Uint8Array): void {
    if (body[0] === EVENT_START) {
      if (this.#parseAll) {
        const atNs = monotonicNs();
        this.#onMessage(JSON.parse(utf8.decode(body)) as Record<string, unknown>, atNs);
      } else {
        this.#received++;
      }
      return;
    }
    const text = utf8.decode(body);
    if (text.startsWith(CREDIT)) {
      const [, from, count] = text.split(" ");
      this.#credits.set(from, Math.max(this.#credits.get(from) ?? 0, Number(count)));
      this.#acked = this.#sent - this.#inflight;
    } else if (text === HELLO && !this.loggedIn) {
      this.#loggedIn(monotonicNs());
    }
  }

  /** Baseline receivers: tells the sender the count received, once `min` are uncredited. */
  #returnCredit(min: number): void {
    const uncredited = this.#received - this.#credited;
    if (!this.spec.from || uncredited <= 0 || uncredited < min) return;
    this.#credited = this.#received;
    this.#loop.send([this.spec.from, `${CREDIT}${this.spec.name} ${this.#received}`]);
  }

  #error(text: string): void {
    if (this.#errors.length < MAX_ERRORS) this.#errors.push(text);
  }
}
