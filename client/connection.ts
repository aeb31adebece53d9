// The client side of the chatz protocol: owns one DEALER socket, logs in, matches replies to requests.
// Requests made in the same event-loop turn travel together in one frame.

import { hostname } from "node:os";
import { Dealer } from "zeromq";
import {
  decodeFrames,
  encodeBatch,
  type ErrorCode,
  type LoginData,
  type MessageEvent,
  PROTOCOL_VERSION,
  type Reply,
  type Request,
  type ServerEvent,
  WireError,
} from "../protocol/mod.ts";
import { backoffDelay } from "../transport/backoff.ts";
import { curveClientOptions } from "../transport/curve.ts";
import { type HandshakeFailure, watchHandshake } from "../transport/handshake.ts";
import { type SocketLoop, startSocketLoop } from "../transport/socket_loop.ts";
import { expandEndpoints } from "./endpoints.ts";

/** How often an idle client pings until the server says otherwise (its login reply does). */
export const PING_INTERVAL_MS = 5000;

/** Silence, in ping intervals, after which the server is taken as gone and the client reconnects. */
const DEAD_AFTER_PINGS = 3;

/**
 * How long a re-login waits for its answer: this long on the first attempt, twice as long on each
 * next one, up to the cap. Unanswered, it re-dials at once: the wait itself spaces the attempts.
 */
const ANSWER_FIRST_MS = 250;
const ANSWER_MAX_MS = 15_000;

/**
 * Before re-dialling a server that said it is stopping, or after a refused re-login, the client waits
 * a random time (full jitter) up to this, doubling per attempt up to the cap: a restarting server
 * is not met by all its clients in the same millisecond.
 */
const RETRY_BACKOFF = { firstMs: 1000, maxMs: 15_000 };

/** Re-login refusals that pass: wait and try again rather than end the session. */
const RETRYABLE_REFUSALS: ReadonlySet<string> = new Set([
  "login_throttled",
  "limit_reached",
  "server_shutdown",
]);

/** Byes after which the session is resumed rather than ended: the server restarted or dropped us. */
const RESUMABLE_BYES: ReadonlySet<string> = new Set(["server_shutdown", "timed_out", "too_slow"]);

/**
 * While the login is still queued (no connection was ever completed), re-dial after this long,
 * doubling up to REDIAL_MAX_MS. libzmq gives up on a connection whose handshake was refused (a
 * paused server answers ZAP 300), so the client retries itself; a request never sent cannot have
 * been answered, so this cannot log in twice. Backing off keeps a slow handshake on a loaded
 * machine from being cut short again and again.
 */
const REDIAL_FIRST_MS = 1000;
const REDIAL_MAX_MS = 8000;

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
  /** Every event the server pushes, in order. */
  onEvent?: (event: ServerEvent) => void;
  /** The connection was lost and is being re-established, or is back. */
  onStatus?: (status: ConnectionStatus) => void;
  /** A frame from the server could not be decoded. */
  onProtocolError?: (error: WireError) => void;
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
export type ClientErrorCode = "unreachable" | "closed" | "encryption_mismatch" | "handshake_failed";

/** Why `connect` or a request failed: a protocol error code, or one of the client's own. */
export class ChatzError extends Error {
  constructor(readonly code: ErrorCode | ClientErrorCode, message: string) {
    super(message);
    this.name = "ChatzError";
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

/** Connects, logs in and resolves once the server accepted the login. */
export async function connect(options: ConnectOptions): Promise<Connection> {
  const socket = new Dealer({
    receiveTimeout: 0,
    sendTimeout: 0,
    linger: 1000, // lets a final logout reach the server after close()
    immediate: true, // queue nothing on a connection that is not up: the connect timeout is honest
    reconnectInterval: 100,
    reconnectMaxInterval: 2000,
    ...(options.curve && curveClientOptions(options.curve.serverKey)),
  });
  /** The servers to use, in turn: `--server`'s endpoints (see endpoints.ts). */
  const endpoints = await expandEndpoints(options.server);
  let current = 0;
  /** Connects again, to the next endpoint in the list (the same one when there is only one). */
  const dialNext = () => {
    socket.disconnect(endpoints[current]);
    current = (current + 1) % endpoints.length;
    socket.connect(endpoints[current]);
  };
  const pending = new Map<number, Pending>();
  /** Requests made while not logged in: sent once the (re-)login succeeds. */
  let held: number[] = [];
  let nextId = 1;
  let batch: Request[] = [];
  /** `ended`: the server ended the session, the socket is still open; `closed`: close() was called. */
  let state: "connecting" | "online" | "reconnecting" | "ended" | "closed" = "connecting";
  let lastSent = Date.now();
  let lastHeard = Date.now();
  let lastMessageId = 0;
  let session: LoginData | undefined;
  let pingIntervalMs = PING_INTERVAL_MS;
  const cidPrefix = crypto.randomUUID().slice(0, 8);
  let nextCid = 1;
  /** A resumed login's catch-up still coming in: what is left, own sends skipped, the rest held. */
  let catchup:
    | (LoginData["catchup"] & { left: number; own: number; held: MessageEvent[] })
    | undefined;

  const loop: SocketLoop = startSocketLoop(socket, {
    onMessage(frames) {
      lastHeard = Date.now();
      let messages: unknown[];
      try {
        messages = decodeFrames(frames, { maxBytes: MAX_INBOUND_FRAME_BYTES });
      } catch (error) {
        if (error instanceof WireError) options.onProtocolError?.(error);
        return;
      }
      for (const message of messages) dispatch(message);
    },
  }, { checkWritable: true });

  function dispatch(message: unknown): void {
    if (typeof message !== "object" || message === null) return;
    const reply = message as Reply;
    if (typeof reply.re === "number") {
      if (catchup) endCatchup();
      const waiter = pending.get(reply.re);
      if (!waiter) return;
      if (
        options.reconnect && (state === "online" || state === "reconnecting") && sessionGone(reply)
      ) {
        // The server lost our session (it restarted and libzmq re-dialled): resume; the request
        // stays pending, and commands are sent again after the new login.
        reconnect("the server no longer knows this session");
        return;
      }
      pending.delete(reply.re);
      waiter.resolve(reply);
      return;
    }
    const event = message as ServerEvent;
    if (event.type === "message" && !event.history && !event.delayed) {
      // Live and catch-up messages come in id order: one at or below the cursor was seen already
      // (a frame of the old connection read after a reconnect), so it is dropped.
      if (event.id <= lastMessageId) return;
      lastMessageId = event.id;
      if (event.catchup && catchup) return holdCatchup(event);
      if (event.catchup && isOwn(event)) {
        if (options.echo) options.onEvent?.(asEcho(event));
        return;
      }
    }
    if (catchup) endCatchup();
    if (event.type === "bye") {
      if (options.reconnect && RESUMABLE_BYES.has(event.code)) {
        // A stopping server is not dialled again at once: it admits no one until it is back.
        reconnect(event.message, { waitFirst: event.code === "server_shutdown" });
        return;
      }
      state = "ended";
    }
    options.onEvent?.(event);
  }

  /**
   * A resumed login's catch-up follows its reply; it is held until all of it is in (or something
   * else comes), so the status line can say how many messages were missed once this client's own
   * sends are left out.
   */
  function startCatchup(data: LoginData): void {
    catchup = { ...data.catchup, left: data.catchup.count, own: 0, held: [] };
    if (catchup.left === 0) endCatchup();
  }

  function holdCatchup(event: MessageEvent): void {
    const held = catchup!;
    if (isOwn(event)) {
      held.own++;
      if (options.echo) held.held.push(asEcho(event));
    } else held.held.push(event);
    if (--held.left === 0) endCatchup();
  }

  /**
   * A catch-up message this client sent itself (its cid). It is not "missed": without echoes it
   * was shown from its reply when sent, so it is dropped; with echoes its echo was lost with the
   * old connection, so it is passed on as the echo, unmarked. Other sessions' sends stay missed.
   */
  function isOwn(event: MessageEvent): boolean {
    return event.cid !== undefined && event.cid.startsWith(`${cidPrefix}-`);
  }

  function asEcho({ catchup: _catchup, cid: _cid, ...event }: MessageEvent): MessageEvent {
    return event;
  }

  function endCatchup(): void {
    const done = catchup!;
    catchup = undefined;
    options.onStatus?.({
      state: "online",
      catchup: { count: done.count - done.own, complete: done.complete },
    });
    for (const event of done.held) options.onEvent?.(event);
  }

  function flush(): void {
    if (batch.length === 0) return;
    const requests = batch;
    batch = [];
    lastSent = Date.now();
    loop.send([PROTOCOL_VERSION, encodeBatch(requests)]);
  }

  function send(id: number): void {
    const waiter = pending.get(id);
    if (!waiter) return;
    if (batch.length === 0) queueMicrotask(flush);
    batch.push({ ...waiter.body, id } as Request);
  }

  /**
   * Sends a request; `onReply` runs as soon as the reply is read, before anything that came after
   * it in the same frame (a resumed login's catch-up comes right behind its reply).
   */
  function request(body: RequestBody, onReply?: (reply: Reply) => void): Promise<Reply> {
    const id = nextId++;
    return new Promise((resolve) => {
      if (state === "closed") return resolve(lost(id));
      const settle = onReply ? (reply: Reply) => (onReply(reply), resolve(reply)) : resolve;
      pending.set(id, { body, resolve: settle });
      if (state === "online" || state === "ended" || body.op === "login") send(id);
      else held.push(id);
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

  function login(
    auth: { password?: string; token?: string; resume?: number },
    onReply?: (reply: Reply) => void,
  ): Promise<Reply> {
    return request({
      op: "login",
      login: options.login,
      client: options.clientName ?? "chatz",
      host: hostname(),
      ...(options.echo ? { echo: true } : {}),
      ...auth,
    }, onReply);
  }

  function online(data: LoginData): void {
    session = data;
    state = "online";
    pingIntervalMs = data.pingIntervalMs || PING_INTERVAL_MS;
    const waiting = held;
    held = [];
    for (const id of waiting) send(id);
  }

  /** Replaces a dead connection: new socket connection, token login with resume, re-sent commands. */
  async function reconnect(reason: string, how: { waitFirst?: boolean } = {}): Promise<void> {
    if (state !== "online") return;
    if (catchup) endCatchup();
    state = "reconnecting";
    loop.discardQueued();
    batch = [];
    // Commands are re-sent with their cid (the server answers a duplicate from the first one);
    // pings and the like only mattered on the old connection.
    for (const [id, waiter] of pending) {
      if (waiter.body.op === "cmd") held.push(id);
      else {
        pending.delete(id);
        waiter.resolve(lost(id));
      }
    }
    held.sort((a, b) => a - b);
    let waitNext = how.waitFirst === true;
    for (let attempt = 1; state === "reconnecting"; attempt++) {
      const delayMs = waitNext ? Math.round(backoffDelay(attempt, RETRY_BACKOFF)) : 0;
      options.onStatus?.({ state: "reconnecting", reason, attempt, delayMs });
      if (delayMs > 0) await sleep(delayMs);
      if (state !== "reconnecting") return; // closed meanwhile
      waitNext = false;
      dialNext(); // with several endpoints, the client moves to another node
      const wait = Math.min(ANSWER_MAX_MS, ANSWER_FIRST_MS * 2 ** (attempt - 1));
      // Back online the moment the reply is read, so the status comes before the catch-up.
      const reply = await withTimeout(
        login({ token: session?.token, resume: lastMessageId }, (r) => {
          if (!r.ok || state !== "reconnecting") return;
          const data = r.data as LoginData;
          online(data);
          startCatchup(data);
        }),
        wait,
      );
      if (state !== "reconnecting") return; // online, or closed meanwhile
      if (reply === undefined) {
        loop.discardQueued();
        for (const [id, waiter] of pending) if (waiter.body.op === "login") pending.delete(id);
        reason = "no answer yet";
        continue;
      }
      if (!reply.ok) {
        if (RETRYABLE_REFUSALS.has(reply.code)) {
          reason = reply.message;
          waitNext = true;
          continue;
        }
        state = "ended";
        for (const [id, waiter] of pending) waiter.resolve(lost(id));
        pending.clear();
        options.onEvent?.({ type: "bye", code: reply.code, message: reply.message });
        return;
      }
    }
  }

  try {
    socket.connect(endpoints[current]);
  } catch (error) {
    await loop.close();
    throw new ChatzError(
      "unreachable",
      `Cannot connect to "${options.server}": ${(error as Error).message}`,
    );
  }
  // A failed security handshake leaves the login unanswered; the socket's events say why at once.
  const handshake = watchHandshake(socket);
  let redialDelay = REDIAL_FIRST_MS;
  let redial: ReturnType<typeof setTimeout>;
  const redialIfStuck = () => {
    if (loop.pending > 0) {
      dialNext();
      redialDelay = Math.min(REDIAL_MAX_MS, redialDelay * 2);
    }
    redial = setTimeout(redialIfStuck, redialDelay);
  };
  redial = setTimeout(redialIfStuck, redialDelay);
  const loginReply = await Promise.race([
    withTimeout(login({ password: options.password, token: options.token }), options.timeoutMs),
    handshake.failed.then((failure) => handshakeError(failure, options)),
  ]);
  clearTimeout(redial);
  handshake.stop();
  if (loginReply instanceof ChatzError) {
    await loop.close();
    throw loginReply;
  }
  if (loginReply === undefined) {
    await loop.close();
    throw new ChatzError(
      "unreachable",
      `Cannot connect to "${options.server}": no answer within ${options.timeoutMs} ms`,
    );
  }
  if (!loginReply.ok) {
    await loop.close();
    throw new ChatzError(loginReply.code, loginReply.message);
  }
  const first = loginReply.data as LoginData;
  lastMessageId = first.cursor ?? 0;
  online(first);

  // Checks four times per ping interval, which the server may change at each login.
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  const watch = () => {
    watchdog = setTimeout(watch, Math.max(20, Math.floor(pingIntervalMs / 4)));
    if (state !== "online") return;
    const now = Date.now();
    if (options.reconnect && now - lastHeard > pingIntervalMs * DEAD_AFTER_PINGS) {
      reconnect(`no answer from the server for ${Math.round((now - lastHeard) / 1000)} s`);
    } else if (now - lastSent >= pingIntervalMs) {
      request({ op: "ping" });
    }
  };
  watch();

  return {
    get session() {
      return session!;
    },
    request,
    command: (cmd, args = "") =>
      request({ op: "cmd", cmd, args, cid: `${cidPrefix}-${nextCid++}` }, (reply) => {
        // A password change revokes every token but gives this session a new one to resume with.
        const data = reply.ok ? reply.data as { token?: unknown } | undefined : undefined;
        if (cmd === "passwd" && typeof data?.token === "string" && session) {
          session = { ...session, token: data.token };
        }
      }),
    get inFlight() {
      return pending.size;
    },
    get lastMessageId() {
      return lastMessageId;
    },
    async close(closeOptions = {}) {
      clearTimeout(watchdog);
      const wasOnline = state === "online";
      state = "closed";
      if (closeOptions.logout && wasOnline) {
        const id = nextId++;
        const reply = new Promise<Reply>((resolve) =>
          pending.set(id, { body: { op: "logout" }, resolve })
        );
        send(id);
        await withTimeout(reply, 1000);
      }
      await loop.close();
      for (const [id, waiter] of pending) waiter.resolve(lost(id));
      pending.clear();
    },
  };
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
  return options.curve
    ? new ChatzError(
      "encryption_mismatch",
      `${server}: the server does not encrypt (it runs with --no-curve) and this client does; ` +
        `ask its operator to drop --no-curve, or connect with --no-curve to talk in clear ` +
        `(your password readable on the network)`,
    )
    : new ChatzError(
      "encryption_mismatch",
      `${server}: the server encrypts (CURVE) and this client does not (--no-curve); connect ` +
        `without --no-curve`,
    );
}

/** A reply that says the connection has no session: a command refused, or a ping that says so. */
function sessionGone(reply: Reply): boolean {
  if (!reply.ok) return reply.code === "not_logged_in";
  const data = reply.data as { session?: boolean } | undefined;
  return data?.session === false;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
