// The one owner of a ZeroMQ socket: a single receive loop and a single serialized send queue.
// Sockets run non-blocking (timeouts 0); readiness comes from readiness.ts, never from zeromq's own poller.

import { setImmediate } from "node:timers";
import { createReadiness, type Readiness } from "./readiness.ts";

/** Messages handled before the loop yields to timers and other tasks: keeps the process responsive under load. */
const RECEIVE_BUDGET = 256;

/** The frames of one outgoing message: strings are sent as UTF-8. */
export type OutFrames = (string | Uint8Array)[];

/**
 * What the loop uses of a socket: a zeromq.js Router or Dealer (promises), or a libzmq socket of
 * transport/libzmq.ts (answers at once; a failed send throws).
 */
export interface LoopSocket {
  readonly readable: boolean;
  readonly writable: boolean;
  receive(): Promise<Uint8Array[]> | Uint8Array[];
  send(frames: OutFrames): Promise<void> | void;
  close(): void;
}

/** An error from zeromq, with its POSIX-style code. */
export type SocketError = Error & { code?: string };

/** What the loop calls back into. */
export interface SocketLoopHandlers {
  /**
   * One received message's frames, in arrival order. Returning true ends the burst there: `onDrained`
   * runs and queued sends go out before anything more is received (a turn full of work).
   */
  onMessage(frames: Uint8Array[]): boolean | void;
  /** After a burst of receives, before queued sends go out: the place to flush batched output. */
  onDrained?(): void;
  /** A send failed (EHOSTUNREACH: peer gone; EAGAIN: peer's queue full). The message is dropped. */
  onSendError?(frames: OutFrames, error: SocketError): void;
  /** `onMessage` or `onDrained` threw; the loop goes on. */
  onHandlerError?(error: unknown): void;
}

/** Runs a socket until closed. */
export interface SocketLoop {
  /** Queues a message; it goes out in order, at once when the socket can take it. */
  send(frames: OutFrames): void;
  /** Messages queued and not yet handed to the socket. */
  readonly pending: number;
  /**
   * Removes and returns the messages not yet handed to the socket, for a connection that is being
   * replaced: the caller drops them or queues them on the new one.
   */
  takeQueued(): OutFrames[];
  /** Stops the loop and closes the socket; resolves when both are done. */
  close(): Promise<void>;
  /** Settles when the loop has stopped. */
  readonly done: Promise<void>;
}

/** Options of a socket loop. */
export interface SocketLoopOptions {
  /** Check ZMQ_POLLOUT before each send: DEALER sockets block when no peer is connected; ROUTER sockets never do. */
  checkWritable: boolean;
}

/** Starts the receive loop of a socket created with `receiveTimeout: 0` and `sendTimeout: 0`. */
export function startSocketLoop(
  socket: LoopSocket,
  handlers: SocketLoopHandlers,
  options: SocketLoopOptions,
): SocketLoop {
  const readiness: Readiness = createReadiness(socket);
  let queue: OutFrames[] = [];
  let head = 0;
  let closed = false;
  let waiting = false;
  const onSendError = handlers.onSendError ?? (() => {});
  const reportSendError = (frames: OutFrames) => (error: SocketError) => onSendError(frames, error);

  function flush(): void {
    while (head < queue.length) {
      if (options.checkWritable && !socket.writable) break;
      const frames = queue[head];
      queue[head++] = undefined as unknown as OutFrames; // let the frames be collected
      try {
        socket.send(frames)?.then(undefined, reportSendError(frames));
      } catch (error) {
        onSendError(frames, error as SocketError);
      }
    }
    if (head === queue.length) {
      queue = [];
      head = 0;
    }
  }

  /** Frames handled since the loop last let timers and other tasks run. */
  let sinceYield = 0;

  async function run(): Promise<void> {
    await Promise.resolve(); // let the caller finish wiring before the first handler runs
    try {
      while (!closed) {
        let received = 0;
        while (!closed && received < RECEIVE_BUDGET && socket.readable) {
          const next = socket.receive();
          const frames = Array.isArray(next) ? next : await next;
          received++;
          sinceYield++;
          try {
            if (handlers.onMessage(frames) === true) break;
          } catch (error) {
            handlers.onHandlerError?.(error);
          }
        }
        if (received > 0 && handlers.onDrained) {
          try {
            handlers.onDrained();
          } catch (error) {
            handlers.onHandlerError?.(error);
          }
        }
        flush();
        if (closed) break;
        // A socket that keeps refilling must not starve the process's timers (pings, sweeps):
        // yield after every RECEIVE_BUDGET frames, however the loop got there.
        if (sinceYield >= RECEIVE_BUDGET) {
          sinceYield = 0;
          // setImmediate, not setTimeout(0): Deno clamps the latter to about 2 ms, which held a busy
          // loop idle for most of its time. Timers due meanwhile still run before it resumes.
          await new Promise((resolve) => setImmediate(resolve));
          continue;
        }
        if (socket.readable) continue;
        if (head < queue.length && socket.writable) continue;
        sinceYield = 0;
        waiting = true;
        await readiness.wait();
        waiting = false;
      }
    } finally {
      // Hand what is still queued to libzmq: the socket's linger period sends it after close.
      flush();
      readiness.close();
      socket.close();
    }
  }

  const done = run();

  return {
    send(frames) {
      if (closed) return;
      queue.push(frames);
      // Inside a loop turn the loop flushes; while it sleeps, send now and make sure it re-checks
      // ZMQ_EVENTS, since our send may have consumed the edge its poll was waiting for.
      if (waiting) {
        flush();
        if (socket.readable || head < queue.length) readiness.wake();
      }
    },
    get pending() {
      return queue.length - head;
    },
    takeQueued() {
      const taken = queue.slice(head);
      queue = [];
      head = 0;
      return taken;
    },
    close() {
      if (!closed) {
        closed = true;
        readiness.wake();
      }
      return done;
    },
    done,
  };
}
