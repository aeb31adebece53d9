// The client side of the chatz protocol: owns one DEALER socket, logs in, matches replies to requests.
// Requests made in the same event-loop turn travel together in one frame.

import { hostname } from "node:os";
import {
  decodeFrames,
  encodeBatches,
  type ErrorCode,
  type LoginData,
  type MessageEvent,
  PROTOCOL_VERSION,
  type Reply,
  type Request,
  type ServerEvent,
  WireError,
} from "../protocol/mod.ts";
import { backoffCeiling, backoffDelay, type BackoffOptions } from "../transport/backoff.ts";
import type { DialProgress, HandshakeFailure, HandshakeWatch } from "../transport/handshake.ts";
import { asEcho, type Catchup, createCatchup } from "./catchup.ts";
import {
  type ClientLink,
  type Clock,
  dealerLink,
  type OpenLink,
  SYSTEM_CLOCK,
  type Timer,
} from "./link.ts";
import { encryptionMismatch, nothingListening } from "./dial_messages.ts";
import { expandEndpoints } from "./endpoints.ts";

/** How often an idle client pings until the server says otherwise (its login reply does). */
export const PING_INTERVAL_MS = 5000;

/** Silence, in ping intervals, after which the server is taken as gone and the client reconnects. */
const DEAD_AFTER_PINGS = 3;
/**
 * How far below the cursor a message not seen yet is still taken (see alreadySeen): 10,000 ids are
 * seconds of a busy cluster's traffic, far more than a catch-up repeats; the set stays under 80 KB.
 */
const REORDER_WINDOW = 10_000;
/**
 * After the socket reports a dropped connection, how long to wait before re-dialling elsewhere:
 * long enough for a bye sent just before the drop to be read, short next to a ping interval.
 */
const DROP_GRACE_MS = 200;

/**
 * How long a re-login waits for its answer: this long on the first attempt, twice as long on each
 * next one, up to the cap. Unanswered, it re-dials at once: the wait itself spaces the attempts.
 */
const ANSWER_WAIT: BackoffOptions = { firstMs: 250, maxMs: 15_000 };

/**
 * Before re-dialling a server that said it is stopping, or after a refused re-login, the client waits
 * a random time (full jitter) up to this, doubling per attempt up to the cap: a restarting server
 * is not met by all its clients in the same millisecond.
 */
const RETRY_BACKOFF: BackoffOptions = { firstMs: 1000, maxMs: 15_000 };

/** Re-login refusals that pass: wait and try again rather than end the session. */
const RETRYABLE_REFUSALS: ReadonlySet<string> = new Set([
  "login_throttled",
  "limit_reached",
  "server_shutdown",
  "unknown_key", // the server forgot this connection's handshake: the next attempt re-dials
  // A cluster node whose database is away (or failed this turn's commit): it answers again once
  // the database is back, and the session resumes from its cursor then.
  "store_unavailable",
  "storage_failed",
]);

/**
 * Times a first login re-dials and tries again when the server answers `unknown_key` (it forgot
 * the handshake of this connection, which only a flood of other handshakes makes it do).
 */
const UNKNOWN_KEY_REDIALS = 3;

/** Byes after which the session is resumed rather than ended: the server restarted or dropped us. */
const RESUMABLE_BYES: ReadonlySet<string> = new Set(["server_shutdown", "timed_out", "too_slow"]);

/**
 * While the login is still queued (no connection was ever completed), re-dial after this long,
 * doubling with each re-dial up to the cap. libzmq gives up on a connection whose handshake was
 * refused (a paused server answers ZAP 300), so the client retries itself; a request never sent
 * cannot have been answered, so this cannot log in twice. Backing off keeps a slow handshake on a
 * loaded machine from being cut short again and again. The benchmark's clients do the same.
 */
export const REDIAL_BACKOFF: BackoffOptions = { firstMs: 1000, maxMs: 8000 };

/**
 * A connection made this long ago and still not admitted (no finished handshake) is taken as
 * refused by the server rather than slow: its ZAP handler answers "300, retry later" while paused.
 */
const NOT_ADMITTED_AFTER_MS = 1500;
/** Unanswered re-logins in a row after which the server is checked for a change (serverChanged). */
const UNANSWERED_BEFORE_KEY_CHECK = 3;
/** How often the first dial's progress is looked at, to tell the user why it waits. */
const WAIT_PROBE_MS = 250;

/** Largest frame accepted from the server: history pages can be large. */
const MAX_INBOUND_FRAME_BYTES = 16 * 1024 * 1024;

/** Options of `connect`. */
export interface ConnectOptions {
  /**
   * ZeroMQ endpoint of the server, for example `tcp://127.0.0.1:5555`; several (comma-separated, or
   * a DNS name with several addresses) are used in turn, the next one at each reconnection.
   */
  server: string;
  login: string;
  password?: string;
  /** Resume with a token from an earlier login instead of the password. */
  token?: string;
  /** How long to wait for the server to answer the first login. */
  timeoutMs: number;
  /** Names this program in the operator's `users` list. */
  clientName?: string;
  /** Encrypt with CURVE: the server's public key (Z85); the client makes its own key pair. */
  curve?: { serverKey: string };
  /**
   * Reconnect by itself when the server goes silent or restarts, log in again with the session
   * token, receive what was missed as catch-up and re-send unacknowledged commands. Default false:
   * the connection ends with the first `bye`.
   */
  reconnect?: boolean;
  /**
   * Ask the server for the session's own messages as events (`LoginRequest.echo`), at every login,
   * so a client shows what the server stored rather than guessing from what it sent.
   */
  echo?: boolean;
  /**
   * False: a login with no account is not registered; `connect` fails with `new_account`, so the
   * caller can confirm and connect again without it. Default: register (when the server allows).
   */
  register?: boolean;
  /** An operator's invitation code, for registering while registration is closed. */
  invite?: string;
  /** Every event the server pushes, in order. */
  onEvent?: (event: ServerEvent) => void;
  /** The connection was lost and is being re-established, or is back. */
  onStatus?: (status: ConnectionStatus) => void;
  /** A frame from the server could not be decoded. */
  onProtocolError?: (error: WireError) => void;
  /**
   * The first dial has no answer yet, and why it seems to wait: nothing listens at the endpoint
   * (`no_listener`), or a connection was made but the server does not admit it (`not_admitted`,
   * a paused server). Said again when the reason changes; the client keeps trying until timeoutMs.
   */
  onWaiting?: (why: "no_listener" | "not_admitted") => void;
  /**
   * Asked for the password once the server has answered a ping, when neither `password` nor
   * `token` is given: nobody types a password for a server that is not there.
   */
  getPassword?: () => Promise<string | undefined>;
  /**
   * Asked when the first dial's CURVE handshakes keep failing: true when the server's key is the
   * one used after all (its key endpoint says so). Then the failures are refusals (a paused server
   * hangs up too) and the client keeps waiting; without it, or false, the dial fails at once.
   */
  keyStillValid?: () => Promise<boolean>;
  /**
   * Asked while re-dialling a server that does not answer (every UNANSWERED_BEFORE_KEY_CHECK
   * attempts): the reason to give up with when the server changed so that this client cannot get
   * in again (its key endpoint reports another key, or it came back in the other mode, CURVE or
   * plaintext), else undefined. Such a server never passes the handshake, so without this the
   * client would re-dial forever without saying why.
   */
  serverChanged?: () => Promise<{ code: ClientErrorCode; message: string } | undefined>;
  /** The link to the server; default: a DEALER socket on `server` (tests pass a fake). */
  openLink?: OpenLink;
  /** The clock timers and timeouts run on; default: the system's (tests pass a fake). */
  clock?: Clock;
}

/** What `onStatus` reports. */
export type ConnectionStatus =
  /** `delayMs`: how long the client waits before it dials again (0: at once). */
  | { state: "reconnecting"; reason: string; attempt: number; delayMs: number }
  | { state: "online"; catchup: LoginData["catchup"] };

/**
 * The client's own failure codes, never sent on the wire: `unreachable` (no answer), `closed`,
 * `encryption_mismatch` (one side encrypts, the other not), `handshake_failed` (the CURVE server
 * hung up during the key exchange: most likely a wrong server key).
 */
export type ClientErrorCode =
  | "unreachable"
  | "server_key_changed"
  | "wrong_server_key"
  | "not_admitted"
  | "closed"
  | "encryption_mismatch"
  | "handshake_failed";

/** Why `connect` or a request failed: a protocol error code, or one of the client's own. */
export class ChatzError extends Error {
  /**
   * For a first dial that got no answer: how far it got. Only `no_answer` (connected and admitted,
   * then silence) can be a CURVE key problem; the other two name their cause themselves.
   */
  readonly dial?: "no_listener" | "not_admitted" | "no_answer";

  constructor(
    readonly code: ErrorCode | ClientErrorCode,
    message: string,
    dial?: "no_listener" | "not_admitted" | "no_answer",
  ) {
    super(message);
    this.name = "ChatzError";
    this.dial = dial;
  }
}

/** A logged-in connection. */
export interface Connection {
  /** The latest login reply's data: the login as spelled by the server, the catalog, the token. */
  readonly session: LoginData;
  /** Sends a request and resolves with its reply, success or error. */
  request(request: RequestBody): Promise<Reply>;
  /** Runs a chat command: `command("msg", "bob hello")`. It carries a client message id (`cid`). */
  command(cmd: string, args?: string): Promise<Reply>;
  /** Requests sent and not yet answered. */
  readonly inFlight: number;
  /** The highest message id received: where a resumed session continues. */
  readonly lastMessageId: number;
  /** Logs out (when `logout` is set and the session is alive) and closes the socket. */
  close(options?: { logout?: boolean }): Promise<void>;
}

/** A request without its id: the connection numbers requests itself. */
export type RequestBody = Request extends infer R ? R extends Request ? Omit<R, "id"> : never
  : never;

/** A request waiting for its reply; commands are re-sent after a reconnect, other requests fail. */
interface Pending {
  body: RequestBody;
  resolve: (reply: Reply) => void;
}

/** A connection's state, shared by the functions below. */
interface Conn {
  readonly options: ConnectOptions;
  readonly clock: Clock;
  link: ClientLink;
  /** `ended`: the server ended the session, the socket is still open; `closed`: close() was called. */
  state: "connecting" | "online" | "reconnecting" | "ended" | "closed";
  readonly pending: Map<number, Pending>;
  /** Requests made while not logged in: sent once the (re-)login succeeds. */
  held: number[];
  nextId: number;
  batch: Request[];
  lastSent: number;
  lastHeard: number;
  lastMessageId: number;
  /** Ids of live and catch-up messages taken, down to REORDER_WINDOW below the cursor, oldest first. */
  readonly seen: Set<number>;
  session?: LoginData;
  pingIntervalMs: number;
  readonly cidPrefix: string;
  nextCid: number;
  catchup: Catchup;
}

/** Connects, logs in and resolves once the server accepted the login. */
export async function connect(options: ConnectOptions): Promise<Connection> {
  const clock = options.clock ?? SYSTEM_CLOCK;
  // The servers to use, in turn: `--server`'s endpoints (see endpoints.ts).
  const openLink = options.openLink ??
    dealerLink(await expandEndpoints(options.server), options.curve);
  const cidPrefix = crypto.randomUUID().slice(0, 8);
  const conn: Conn = {
    options,
    clock,
    link: undefined as unknown as ClientLink, // set right below, before anything reads it
    state: "connecting",
    pending: new Map(),
    held: [],
    nextId: 1,
    batch: [],
    lastSent: clock.now(),
    lastHeard: clock.now(),
    lastMessageId: 0,
    seen: new Set(),
    pingIntervalMs: PING_INTERVAL_MS,
    cidPrefix,
    nextCid: 1,
    catchup: createCatchup({
      echo: options.echo === true,
      isOwn: (event) => isOwn(cidPrefix, event),
      onEvent: options.onEvent,
      online: (catchup) => options.onStatus?.({ state: "online", catchup }),
    }),
  };
  conn.link = openLink((frames) => receive(conn, frames));
  const first = await firstLogin(conn);
  conn.lastMessageId = first.cursor ?? 0;
  online(conn, first);
  const stopWatchdog = startWatchdog(conn);

  return {
    get session() {
      return conn.session!;
    },
    request: (body) => request(conn, body),
    command: (cmd, args = "") =>
      request(conn, { op: "cmd", cmd, args, cid: `${cidPrefix}-${conn.nextCid++}` }, (reply) => {
        // A password change revokes every token but gives this session a new one to resume with.
        const data = reply.ok ? reply.data as { token?: unknown } | undefined : undefined;
        if (cmd === "passwd" && typeof data?.token === "string" && conn.session) {
          conn.session = { ...conn.session, token: data.token };
        }
      }),
    get inFlight() {
      return conn.pending.size;
    },
    get lastMessageId() {
      return conn.lastMessageId;
    },
    close: (closeOptions = {}) => close(conn, stopWatchdog, closeOptions),
  };
}

/** Dials and logs in with the password or token; re-dials while the login cannot get out. */
async function firstLogin(conn: Conn): Promise<LoginData> {
  const { options, link, clock } = conn;
  // A failed security handshake leaves the login unanswered; the socket's events say why at once.
  // Watched before dialling: libzmq reports only what happens after, and a missed `connect` made a
  // later re-dial (a server closing an idle connection) read as "nothing is listening".
  const handshake = link.watchHandshake(() => dropped(conn));
  try {
    link.connect();
  } catch (error) {
    handshake.stop();
    await link.close();
    throw new ChatzError(
      "unreachable",
      `Cannot connect to "${options.server}": ${(error as Error).message}`,
    );
  }
  let redials = 0;
  let redial: Timer | undefined;
  const redialIfStuck = () => {
    if (link.pending > 0) {
      link.redial();
      redials++;
    }
    redial = clock.setTimeout(redialIfStuck, backoffCeiling(redials + 1, REDIAL_BACKOFF));
  };
  redial = clock.setTimeout(redialIfStuck, backoffCeiling(1, REDIAL_BACKOFF));
  const failed = firstDialFailure(conn, handshake);
  const probe = watchFirstDial(conn, handshake.progress);
  let loginReply: Reply | ChatzError | typeof NO_ANSWER | undefined;
  try {
    const password = await passwordOnceAnswered(conn, failed);
    loginReply = password instanceof ChatzError || password === NO_ANSWER
      ? password
      : await Promise.race([
        withTimeout(
          clock,
          loginRedialing(conn, { password, token: options.token }),
          options.timeoutMs,
        ),
        failed,
      ]);
  } finally {
    clock.clearTimeout(redial);
    probe.stop();
    handshake.stop();
  }
  if (loginReply instanceof ChatzError) {
    await link.close();
    throw loginReply;
  }
  if (loginReply === undefined || loginReply === NO_ANSWER) {
    await link.close();
    throw unanswered(options, handshake.progress);
  }
  if (!loginReply.ok) {
    await link.close();
    throw new ChatzError(loginReply.code, loginReply.message);
  }
  return loginReply.data as LoginData;
}

/** No answer to the first dial's ping within the timeout. */
const NO_ANSWER = Symbol("no answer");

/**
 * The password to log in with. When it must be asked for (`getPassword`), the server first
 * answers a ping: nobody types a password for a server that is not there.
 */
async function passwordOnceAnswered(
  conn: Conn,
  failed: Promise<ChatzError>,
): Promise<string | undefined | ChatzError | typeof NO_ANSWER> {
  const { options, clock } = conn;
  if (options.password !== undefined || options.token !== undefined || !options.getPassword) {
    return options.password;
  }
  const pong = await Promise.race([
    withTimeout(clock, request(conn, { op: "ping" }), options.timeoutMs),
    failed,
  ]);
  if (pong === undefined) return NO_ANSWER;
  if (pong instanceof ChatzError) return pong;
  return await options.getPassword();
}

/**
 * The first dial's security handshake failure as an error. A CURVE server that keeps hanging up
 * may only be refusing the connection (paused): when its key endpoint confirms the key, the client
 * keeps waiting instead (the promise never settles) and says the server does not admit it.
 */
function firstDialFailure(conn: Conn, handshake: HandshakeWatch): Promise<ChatzError> {
  const { options } = conn;
  return handshake.failed.then(async (failure) => {
    if (failure === "curve_refused" && await options.keyStillValid?.()) {
      options.onWaiting?.("not_admitted");
      return new Promise<never>(() => {});
    }
    return handshakeError(failure, options);
  });
}

/** Tells `onWaiting` why the first dial waits, each time the reason changes, until stopped. */
function watchFirstDial(conn: Conn, progress: DialProgress): { stop(): void } {
  const { options, clock } = conn;
  let said: string | undefined;
  let timer: Timer | undefined;
  const look = () => {
    const why = stuckReason(progress, clock.now());
    if (why !== undefined && why !== said) options.onWaiting?.(said = why);
    timer = clock.setTimeout(look, WAIT_PROBE_MS);
  };
  timer = clock.setTimeout(look, WAIT_PROBE_MS);
  return { stop: () => clock.clearTimeout(timer) };
}

/** Why the first dial seems to wait, from what its socket events showed so far. */
function stuckReason(
  progress: DialProgress,
  now: number,
): "no_listener" | "not_admitted" | undefined {
  if (!progress.connected) return progress.refusedDials > 0 ? "no_listener" : undefined;
  if (progress.admitted) return undefined;
  return now - progress.connectedAt >= NOT_ADMITTED_AFTER_MS ? "not_admitted" : undefined;
}

/** The error of a first dial that got no answer in time, naming how far it got. */
function unanswered(options: ConnectOptions, progress: DialProgress): ChatzError {
  const where = `Cannot connect to "${options.server}"`;
  const within = `within ${options.timeoutMs} ms`;
  if (!progress.connected) {
    return new ChatzError(
      "unreachable",
      nothingListening(options.server, options.timeoutMs),
      "no_listener",
    );
  }
  if (!progress.admitted) {
    return new ChatzError(
      "not_admitted",
      `${where}: the server is not admitting connections (paused by its operator, or too many ` +
        `from this address); still refused after ${options.timeoutMs} ms`,
      "not_admitted",
    );
  }
  return new ChatzError("unreachable", `${where}: no answer ${within}`, "no_answer");
}

/**
 * The socket says the connection to the current endpoint dropped (its node died or restarts):
 * move to the next endpoint now rather than after three silent pings. A short grace lets a `bye`
 * already on its way be read first, so a stopping server's wait still applies.
 */
function dropped(conn: Conn): void {
  if (!conn.options.reconnect || conn.state !== "online") return;
  conn.clock.setTimeout(
    () => reconnect(conn, "the connection to the server dropped"),
    DROP_GRACE_MS,
  );
}

/** Checks four times per ping interval (which each login may change): ping, or reconnect. */
function startWatchdog(conn: Conn): () => void {
  const { options, clock } = conn;
  let watchdog: Timer | undefined;
  const watch = () => {
    watchdog = clock.setTimeout(watch, Math.max(20, Math.floor(conn.pingIntervalMs / 4)));
    if (conn.state !== "online") return;
    const now = clock.now();
    if (options.reconnect && now - conn.lastHeard > conn.pingIntervalMs * DEAD_AFTER_PINGS) {
      reconnect(
        conn,
        `no answer from the server for ${Math.round((now - conn.lastHeard) / 1000)} s`,
      );
    } else if (now - conn.lastSent >= conn.pingIntervalMs) {
      request(conn, { op: "ping" });
    }
  };
  watch();
  return () => clock.clearTimeout(watchdog);
}

/** A frame from the server: its messages, in order. */
function receive(conn: Conn, frames: Uint8Array[]): void {
  conn.lastHeard = conn.clock.now();
  let messages: unknown[];
  try {
    messages = decodeFrames(frames, { maxBytes: MAX_INBOUND_FRAME_BYTES });
  } catch (error) {
    if (error instanceof WireError) conn.options.onProtocolError?.(error);
    return;
  }
  for (const message of messages) dispatch(conn, message);
}

function dispatch(conn: Conn, message: unknown): void {
  if (typeof message !== "object" || message === null) return;
  const reply = message as Reply;
  if (typeof reply.re === "number") return answer(conn, reply);
  const { options, catchup } = conn;
  const event = message as ServerEvent;
  if (event.type === "message" && !event.history) {
    // Ids are unique: a message taken already (a frame of the old connection read after a
    // reconnect, a catch-up or delayed copy of what came live) is dropped. Delayed messages are
    // old by nature, so only an exact repeat drops one; they never move the cursor.
    if (event.delayed ? delayedSeen(conn, event.id) : alreadySeen(conn, event.id)) return;
    if (event.catchup && catchup.active) return catchup.hold(event);
    if (event.catchup && isOwn(conn.cidPrefix, event)) {
      if (options.echo) options.onEvent?.(asEcho(event));
      return;
    }
  }
  catchup.end();
  if (event.type === "bye") {
    if (options.reconnect && RESUMABLE_BYES.has(event.code)) {
      // A stopping server is not dialled again at once: it admits no one until it is back.
      reconnect(conn, event.message, { waitFirst: event.code === "server_shutdown" });
      return;
    }
    conn.state = "ended";
  }
  options.onEvent?.(event);
}

/**
 * Whether a live or catch-up message was taken already; if not, records it. Ids come in order, in
 * a cluster too (PROTOCOL 7.3), but catch-ups repeat some and frames of an old connection can
 * arrive late: a lower id is dropped only when it was seen (or is REORDER_WINDOW below the
 * cursor), so a lower id never seen, were a server ever to send one late, is not lost.
 */
function alreadySeen(conn: Conn, id: number): boolean {
  if (id <= conn.lastMessageId - REORDER_WINDOW || conn.seen.has(id)) return true;
  conn.seen.add(id);
  conn.lastMessageId = Math.max(conn.lastMessageId, id);
  // Ids are added nearly in order: the oldest are at the front.
  for (const old of conn.seen) {
    if (old > conn.lastMessageId - REORDER_WINDOW) break;
    conn.seen.delete(old);
  }
  return false;
}

/** Whether a delayed message was taken already, live or delayed; if not, records it. */
function delayedSeen(conn: Conn, id: number): boolean {
  if (conn.seen.has(id)) return true;
  // Above the window's floor it is pruned with the live ids; below it, a repeat is too old to
  // arrive again, so it need not be kept.
  if (id > conn.lastMessageId - REORDER_WINDOW) conn.seen.add(id);
  return false;
}

/** A reply: to its request, unless it says the server lost our session (then resume). */
function answer(conn: Conn, reply: Reply): void {
  conn.catchup.end();
  const waiter = conn.pending.get(reply.re);
  if (!waiter) return;
  const bye = conn.state === "online" ? lostBye(reply) : undefined;
  if (bye) {
    // The server ended the session and its bye was lost (dropped from a full queue): this reply
    // says it instead. A session that resumes keeps the request pending, as below.
    if (!conn.options.reconnect || !RESUMABLE_BYES.has(bye.code)) {
      conn.pending.delete(reply.re);
      waiter.resolve(reply);
    }
    dispatch(conn, { type: "bye", code: bye.code, message: bye.message });
    return;
  }
  const resumable = conn.state === "online" || conn.state === "reconnecting";
  if (conn.options.reconnect && resumable && sessionGone(reply)) {
    // The server lost our session (it restarted and libzmq re-dialled): resume; the request
    // stays pending, and commands are sent again after the new login.
    reconnect(conn, "the server no longer knows this session");
    return;
  }
  conn.pending.delete(reply.re);
  waiter.resolve(reply);
}

/** Tells whether a message is one this client sent: its cid carries this connection's prefix. */
function isOwn(cidPrefix: string, event: MessageEvent): boolean {
  return event.cid !== undefined && event.cid.startsWith(`${cidPrefix}-`);
}

function flush(conn: Conn): void {
  if (conn.batch.length === 0) return;
  const requests = conn.batch;
  conn.batch = [];
  conn.lastSent = conn.clock.now();
  // Split as the server decodes: a frame over its limits would be refused whole, unanswered.
  for (const body of encodeBatches(requests)) conn.link.send([PROTOCOL_VERSION, body]);
}

function send(conn: Conn, id: number): void {
  const waiter = conn.pending.get(id);
  if (!waiter) return;
  if (conn.batch.length === 0) queueMicrotask(() => flush(conn));
  conn.batch.push({ ...waiter.body, id } as Request);
}

/**
 * Sends a request; `onReply` runs as soon as the reply is read, before anything that came after
 * it in the same frame (a resumed login's catch-up comes right behind its reply).
 */
function request(
  conn: Conn,
  body: RequestBody,
  onReply?: (reply: Reply) => void,
): Promise<Reply> {
  const id = conn.nextId++;
  return new Promise((resolve) => {
    if (conn.state === "closed") return resolve(lost(id));
    const settle = onReply ? (reply: Reply) => (onReply(reply), resolve(reply)) : resolve;
    conn.pending.set(id, { body, resolve: settle });
    // Held only while a re-login is under way; the first dial's ping goes out as the login does.
    if (conn.state !== "reconnecting" || body.op === "login") send(conn, id);
    else conn.held.push(id);
  });
}

function lost(id: number): Reply {
  return {
    re: id,
    ok: false,
    code: "connection_lost",
    message: "No reply: the connection closed first",
  };
}

/** A first login, re-dialled and sent again while the server answers `unknown_key`. */
async function loginRedialing(
  conn: Conn,
  auth: { password?: string; token?: string },
): Promise<Reply> {
  let reply = await login(conn, auth);
  for (let i = 0; i < UNKNOWN_KEY_REDIALS && !reply.ok && reply.code === "unknown_key"; i++) {
    conn.link.redial();
    reply = await login(conn, auth);
  }
  return reply;
}

function login(
  conn: Conn,
  auth: { password?: string; token?: string; resume?: number },
  onReply?: (reply: Reply) => void,
): Promise<Reply> {
  const { options } = conn;
  return request(conn, {
    op: "login",
    login: options.login,
    client: options.clientName ?? "chatz",
    host: hostname(),
    ...(options.echo ? { echo: true } : {}),
    ...(options.register === false ? { register: false } : {}),
    ...(options.invite !== undefined ? { invite: options.invite } : {}),
    ...(conn.link.publicKey !== undefined ? { key: conn.link.publicKey } : {}),
    ...auth,
  }, onReply);
}

function online(conn: Conn, data: LoginData): void {
  conn.session = data;
  conn.state = "online";
  conn.pingIntervalMs = data.pingIntervalMs || PING_INTERVAL_MS;
  const waiting = conn.held;
  conn.held = [];
  for (const id of waiting) send(conn, id);
}

/** Replaces a dead connection: new socket connection, token login with resume, re-sent commands. */
async function reconnect(
  conn: Conn,
  reason: string,
  how: { waitFirst?: boolean } = {},
): Promise<void> {
  if (conn.state !== "online") return;
  conn.catchup.end();
  conn.state = "reconnecting";
  conn.link.discardQueued();
  conn.batch = [];
  // Commands are re-sent with their cid (the server answers a duplicate from the first one);
  // pings and the like only mattered on the old connection.
  for (const [id, waiter] of conn.pending) {
    if (waiter.body.op === "cmd") conn.held.push(id);
    else {
      conn.pending.delete(id);
      waiter.resolve(lost(id));
    }
  }
  conn.held.sort((a, b) => a - b);
  let waitNext = how.waitFirst === true;
  let unanswered = 0;
  for (let attempt = 1; conn.state === "reconnecting"; attempt++) {
    const delayMs = waitNext ? Math.round(backoffDelay(attempt, RETRY_BACKOFF)) : 0;
    conn.options.onStatus?.({ state: "reconnecting", reason, attempt, delayMs });
    if (delayMs > 0) await sleep(conn.clock, delayMs);
    if (conn.state !== "reconnecting") return; // closed meanwhile
    waitNext = false;
    const outcome = await relogin(conn, attempt);
    if (outcome === "online" || outcome === "ended") return;
    if (outcome === "unanswered") {
      reason = "no answer yet";
      if (++unanswered % UNANSWERED_BEFORE_KEY_CHECK === 0 && await serverHasChanged(conn)) return;
    } else {
      unanswered = 0;
      reason = outcome.refused;
      waitNext = true;
    }
  }
}

/** Ends the session when the server changed so that its handshake can never pass (serverChanged). */
async function serverHasChanged(conn: Conn): Promise<boolean> {
  const changed = await conn.options.serverChanged?.();
  if (!changed || conn.state !== "reconnecting") return false;
  conn.state = "ended";
  for (const [id, waiter] of conn.pending) waiter.resolve(lost(id));
  conn.pending.clear();
  // Made by the client, never sent: the bye's code is one of the client's own.
  conn.options.onEvent?.({
    type: "bye",
    code: changed.code as ErrorCode,
    message: changed.message,
  });
  return true;
}

/**
 * One re-login attempt on a fresh connection, waiting for its answer up to a doubling limit.
 * Online the moment the reply is read, so the status comes before the catch-up.
 */
async function relogin(
  conn: Conn,
  attempt: number,
): Promise<"online" | "ended" | "unanswered" | { refused: string }> {
  conn.link.redial(); // with several endpoints, the client moves to another node
  const wait = backoffCeiling(attempt, ANSWER_WAIT);
  const reply = await withTimeout(
    conn.clock,
    login(conn, { token: conn.session?.token, resume: conn.lastMessageId }, (r) => {
      if (!r.ok || conn.state !== "reconnecting") return;
      const data = r.data as LoginData;
      online(conn, data);
      conn.catchup.start(data);
    }),
    wait,
  );
  if (conn.state !== "reconnecting") return conn.state === "online" ? "online" : "ended";
  if (reply === undefined) {
    conn.link.discardQueued();
    for (const [id, waiter] of conn.pending) {
      if (waiter.body.op === "login") conn.pending.delete(id);
    }
    return "unanswered";
  }
  if (reply.ok) return "online";
  if (RETRYABLE_REFUSALS.has(reply.code)) return { refused: reply.message };
  conn.state = "ended";
  for (const [id, waiter] of conn.pending) waiter.resolve(lost(id));
  conn.pending.clear();
  conn.options.onEvent?.({ type: "bye", code: reply.code, message: reply.message });
  return "ended";
}

/** Logs out when asked and the session is alive, closes the link, fails what is unanswered. */
async function close(
  conn: Conn,
  stopWatchdog: () => void,
  closeOptions: { logout?: boolean },
): Promise<void> {
  stopWatchdog();
  const wasOnline = conn.state === "online";
  conn.state = "closed";
  if (closeOptions.logout && wasOnline) {
    const id = conn.nextId++;
    const reply = new Promise<Reply>((resolve) =>
      conn.pending.set(id, { body: { op: "logout" }, resolve })
    );
    send(conn, id);
    await withTimeout(conn.clock, reply, 1000);
  }
  await conn.link.close();
  for (const [id, waiter] of conn.pending) waiter.resolve(lost(id));
  conn.pending.clear();
}

/** The error of a failed first handshake, saying which side encrypts and what to change. */
function handshakeError(failure: HandshakeFailure, options: ConnectOptions): ChatzError {
  const server = `Cannot connect to "${options.server}"`;
  // A plaintext client has no key to refuse: a server that hangs up on its handshake encrypts.
  if (failure === "curve_refused" && options.curve) {
    return new ChatzError(
      "handshake_failed",
      `${server}: the server hung up during the CURVE handshake`,
    );
  }
  return new ChatzError(
    "encryption_mismatch",
    encryptionMismatch(options.server, options.curve !== undefined),
  );
}

/** A reply that says the connection has no session: a command refused, or a ping that says so. */
/** The bye a ping reply repeats for a session the server ended (PROTOCOL.md section 3.6). */
function lostBye(reply: Reply): { code: ErrorCode; message: string } | undefined {
  if (!reply.ok) return undefined;
  const data = reply.data as { session?: boolean; bye?: { code?: unknown; message?: unknown } };
  const bye = data?.session === false ? data.bye : undefined;
  if (typeof bye?.code !== "string" || typeof bye.message !== "string") return undefined;
  return { code: bye.code as ErrorCode, message: bye.message };
}

function sessionGone(reply: Reply): boolean {
  if (!reply.ok) return reply.code === "not_logged_in";
  const data = reply.data as { session?: boolean } | undefined;
  return data?.session === false;
}

function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

function withTimeout<T>(clock: Clock, promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: Timer | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = clock.setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clock.clearTimeout(timer));
}
