// One-shot request/reply over ZeroMQ: a DEALER that asks once and waits, and a ROUTER that answers.
// Used by `chatz admin`, the control endpoint, the CURVE key endpoint and the client's key fetch.

import { Dealer, Router } from "zeromq";
import { type OutFrames, startSocketLoop } from "./socket_loop.ts";

/** Socket options a caller may add to the non-blocking defaults (timeouts 0). */
export type DealerOptions = Omit<NonNullable<ConstructorParameters<typeof Dealer>[0]>, "context">;
/** Socket options a caller may add to the non-blocking defaults (timeouts 0). */
export type RouterOptions = Omit<NonNullable<ConstructorParameters<typeof Router>[0]>, "context">;

/** One request: where to, what, how long to wait, and which message is the answer. */
export interface RequestOptions<T> {
  /** The endpoint to connect to, for example `ipc:///data/run/control.sock`. */
  endpoint: string;
  /** The request's frames. */
  frames: OutFrames;
  /** How long to wait for the answer. */
  timeoutMs: number;
  /**
   * Reads a received message: returns the answer, or undefined to ignore the message and wait on.
   * It may throw nothing; return an error value instead.
   */
  accept(frames: Uint8Array[]): T | undefined;
  /** Options of the DEALER beyond the defaults (linger 0). */
  socket?: DealerOptions;
}

/**
 * Sends one request and resolves with the first accepted answer, or undefined when none came within
 * `timeoutMs`. Throws when the endpoint cannot be connected to. The socket is closed either way.
 *
 * @example
 * ```ts
 * import { requestOnce } from "./request_reply.ts";
 * const answer = await requestOnce({
 *   endpoint: "tcp://127.0.0.1:5556",
 *   frames: ["chatz-key/1", "{}"],
 *   timeoutMs: 5000,
 *   accept: ([version, body]) => new TextDecoder().decode(version) === "chatz-key/1" ? body : undefined,
 * });
 * ```
 */
export async function requestOnce<T>(options: RequestOptions<T>): Promise<T | undefined> {
  const socket = new Dealer({ linger: 0, ...options.socket, receiveTimeout: 0, sendTimeout: 0 });
  const answered = Promise.withResolvers<T>();
  const loop = startSocketLoop(socket, {
    onMessage(frames) {
      const answer = options.accept(frames);
      if (answer !== undefined) answered.resolve(answer);
    },
  }, { checkWritable: true });
  try {
    socket.connect(options.endpoint);
  } catch (error) {
    await loop.close();
    throw error;
  }
  loop.send(options.frames);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), options.timeoutMs);
  });
  try {
    return await Promise.race([answered.promise, timeout]);
  } finally {
    clearTimeout(timer);
    await loop.close();
  }
}

/** A bound answering socket. */
export interface Responder {
  /** The endpoint actually bound (with the real port when the bind asked for `*`). */
  readonly endpoint: string;
  /** Stops answering and closes the socket. */
  close(): Promise<void>;
}

/**
 * Answers the message's frames (without the peer's routing id); undefined sends nothing. A promise
 * is answered when it settles, while the socket goes on serving others.
 */
export type Answer = (frames: Uint8Array[]) => OutFrames | undefined | Promise<OutFrames>;

/**
 * Binds a ROUTER on `bind` that answers each message with what `answer` returns, to the peer that
 * sent it. Throws when the bind fails (the socket is closed then).
 *
 * @example
 * ```ts
 * import { serveRequests } from "./request_reply.ts";
 * const echo = await serveRequests("tcp://127.0.0.1:*", (frames) => frames);
 * await echo.close();
 * ```
 */
export async function serveRequests(
  bind: string,
  answer: Answer,
  socketOptions: RouterOptions = {},
): Promise<Responder> {
  const socket = new Router({ ...socketOptions, receiveTimeout: 0, sendTimeout: 0 });
  try {
    await socket.bind(bind);
  } catch (error) {
    socket.close();
    throw error;
  }
  const endpoint = socket.lastEndpoint ?? bind;
  const loop = startSocketLoop(socket, {
    onMessage([peer, ...frames]) {
      const reply = answer(frames);
      if (reply instanceof Promise) reply.then((out) => loop.send([peer, ...out]));
      else if (reply) loop.send([peer, ...reply]);
    },
  }, { checkWritable: false });
  return { endpoint, close: () => loop.close() };
}
