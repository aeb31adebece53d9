// The client side of the chatz protocol: owns one DEALER socket, logs in, matches replies to requests.
// Requests made in the same event-loop turn travel together in one frame.

import { hostname } from "node:os";
import { Dealer } from "zeromq";
import {
  decodeFrames,
  encodeBatch,
  type ErrorCode,
  type LoginData,
  PROTOCOL_VERSION,
  type Reply,
  type Request,
  type ServerEvent,
  WireError,
} from "../protocol/mod.ts";
import { curveClientOptions } from "../transport/curve.ts";
import { type SocketLoop, startSocketLoop } from "../transport/socket_loop.ts";

/** How often an idle client pings, so the server knows it is alive (the server's timeout is 3 beats). */
export const PING_INTERVAL_MS = 5000;

/**
 * While the login is still queued (no connection was ever completed), re-dial this often. libzmq gives
 * up on a connection whose handshake was refused (a paused server answers ZAP 300), so the client
 * retries itself; a request never sent cannot have been answered, so this cannot log in twice.
 */
const REDIAL_INTERVAL_MS = 1000;

/** Largest frame accepted from the server: history pages can be large. */
const MAX_INBOUND_FRAME_BYTES = 16 * 1024 * 1024;

/** Options of `connect`. */
export interface ConnectOptions {
  /** ZeroMQ endpoint of the server, for example `tcp://127.0.0.1:5555`. */
  server: string;
  login: string;
  password?: string;
  /** Resume with a token from an earlier login instead of the password. */
  token?: string;
  /** How long to wait for the server to answer the login. */
  timeoutMs: number;
  /** Names this program in the operator's `users` list. */
  clientName?: string;
  /** Encrypt with CURVE: the server's public key (Z85); the client makes its own key pair. */
  curve?: { serverKey: string };
  /** Every event the server pushes, in order. */
  onEvent?: (event: ServerEvent) => void;
  /** A frame from the server could not be decoded. */
  onProtocolError?: (error: WireError) => void;
}

/** Why `connect` or a request failed: a protocol error code, or `unreachable` / `closed`. */
export class ChatzError extends Error {
  constructor(readonly code: ErrorCode | "unreachable" | "closed", message: string) {
    super(message);
    this.name = "ChatzError";
  }
}

/** A logged-in connection. */
export interface Connection {
  /** The login reply's data: the login as spelled by the server, the catalog, the resume token. */
  readonly session: LoginData;
  /** Sends a request and resolves with its reply, success or error. */
  request(request: RequestBody): Promise<Reply>;
  /** Runs a chat command: `command("msg", "bob hello")`. */
  command(cmd: string, args?: string): Promise<Reply>;
  /** Requests sent and not yet answered. */
  readonly inFlight: number;
  /** Logs out (when `logout` is set and the session is alive) and closes the socket. */
  close(options?: { logout?: boolean }): Promise<void>;
}

/** A request without its id: the connection numbers requests itself. */
export type RequestBody = Request extends infer R ? R extends Request ? Omit<R, "id"> : never
  : never;

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
  const waiting = new Map<number, (reply: Reply) => void>();
  let nextId = 1;
  let batch: Request[] = [];
  let alive = true;
  let lastSent = Date.now();

  const loop: SocketLoop = startSocketLoop(socket, {
    onMessage(frames) {
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
      const resolve = waiting.get(reply.re);
      if (resolve) {
        waiting.delete(reply.re);
        resolve(reply);
      }
      return;
    }
    const event = message as ServerEvent;
    if (event.type === "bye") alive = false;
    options.onEvent?.(event);
  }

  function flush(): void {
    const requests = batch;
    batch = [];
    lastSent = Date.now();
    loop.send([PROTOCOL_VERSION, encodeBatch(requests)]);
  }

  function request(body: RequestBody): Promise<Reply> {
    const id = nextId++;
    if (batch.length === 0) queueMicrotask(flush);
    batch.push({ ...body, id } as Request);
    return new Promise((resolve) => waiting.set(id, resolve));
  }

  try {
    socket.connect(options.server);
  } catch (error) {
    await loop.close();
    throw new ChatzError(
      "unreachable",
      `Cannot connect to "${options.server}": ${(error as Error).message}`,
    );
  }
  const redial = setInterval(() => {
    if (loop.pending === 0) return;
    socket.disconnect(options.server);
    socket.connect(options.server);
  }, REDIAL_INTERVAL_MS);

  const loginReply = await withTimeout(
    request({
      op: "login",
      login: options.login,
      password: options.password,
      token: options.token,
      client: options.clientName ?? "chatz",
      host: hostname(),
    }),
    options.timeoutMs,
  );
  clearInterval(redial);
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

  const pinger = setInterval(() => {
    if (alive && Date.now() - lastSent >= PING_INTERVAL_MS) request({ op: "ping" });
  }, PING_INTERVAL_MS / 2);

  return {
    session: loginReply.data as LoginData,
    request,
    command: (cmd, args = "") => request({ op: "cmd", cmd, args }),
    get inFlight() {
      return waiting.size;
    },
    async close(closeOptions = {}) {
      clearInterval(pinger);
      if (closeOptions.logout && alive) {
        alive = false;
        await withTimeout(request({ op: "logout" }), 1000);
      }
      await loop.close();
      for (const [id, resolve] of waiting) {
        resolve({
          re: id,
          ok: false,
          code: "connection_lost",
          message: "No reply: the connection closed first",
        });
      }
      waiting.clear();
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
