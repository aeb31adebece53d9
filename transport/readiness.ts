// Waits for a ZeroMQ socket to become ready, working around Deno's broken libuv poll emulation.
// Polls the socket's ZMQ_FD and a wake-up eventfd with libc poll(2), run off-thread through Deno FFI.
//
// Why: Deno's N-API shim of `uv_poll_start` (added in denoland/deno#34657) stops watching after its
// first callback and reports the requested events, not the ones poll(2) saw, so zeromq.js's own
// poller loses wake-ups: https://github.com/denoland/deno/issues/36317 (open; fix proposed in
// https://github.com/denoland/deno/pull/36455). Once a pinned Deno ships that fix and zeromq.js's
// poller passes transport/socket_loop_test.ts without this file, remove it.

/** Longest single wait: a lost edge (should one ever happen) costs at most this long. */
const MAX_WAIT_MS = 1000;

const ZMQ_FD = 14; // libzmq socket option: the mailbox fd that signals "ZMQ_EVENTS may have changed"
const POLLIN = 1;
const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;

const SYMBOLS = {
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  write: { parameters: ["i32", "buffer", "u64"], result: "i64" },
  read: { parameters: ["i32", "buffer", "u64"], result: "i64" },
  close: { parameters: ["i32"], result: "i32" },
} as const;

let libc: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

function loadLibc(): Deno.DynamicLibrary<typeof SYMBOLS> {
  libc ??= Deno.dlopen("libc.so.6", SYMBOLS);
  return libc;
}

/** What a readiness waiter needs of a zeromq socket: zeromq.js declares the option getter protected. */
export type PollableSocket = object;

function mailboxFd(socket: PollableSocket): number {
  const getter = (socket as { getInt32Option?: (option: number) => number }).getInt32Option;
  if (typeof getter !== "function") throw new Error("Cannot read ZMQ_FD: not a zeromq socket");
  return getter.call(socket, ZMQ_FD);
}

/** Sleeps until a socket's mailbox fd signals, `wake()` is called, or the bounded wait ends. */
export interface Readiness {
  wait(): Promise<void>;
  wake(): void;
  close(): void;
}

/** Creates a waiter for one socket; the caller re-checks ZMQ_EVENTS after every wait. */
export function createReadiness(socket: PollableSocket): Readiness {
  const lib = loadLibc().symbols;
  const zmqFd = mailboxFd(socket);
  const wakeFd = lib.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wakeFd < 0) throw new Error("Cannot create eventfd for the socket waiter");
  const fds = new Uint8Array(16); // two struct pollfd { int fd; short events; short revents; }
  const view = new DataView(fds.buffer);
  view.setInt32(0, zmqFd, true);
  view.setInt16(4, POLLIN, true);
  view.setInt32(8, wakeFd, true);
  view.setInt16(12, POLLIN, true);
  const one = new BigUint64Array([1n]);
  const scratch = new BigUint64Array(1);
  let closed = false;
  let waiting: Promise<void> | undefined;

  return {
    wait() {
      if (closed) return Promise.resolve();
      waiting ??= lib.poll(fds, 2n, MAX_WAIT_MS).then(() => {
        waiting = undefined;
        lib.read(wakeFd, scratch, 8n); // drains the counter; EAGAIN when nobody woke us
      });
      return waiting;
    },
    wake() {
      if (!closed) lib.write(wakeFd, one, 8n);
    },
    close() {
      if (closed) return;
      closed = true;
      const fd = wakeFd;
      // Close the eventfd only once no poll can still be reading it.
      if (waiting) {
        lib.write(fd, one, 8n);
        waiting.finally(() => lib.close(fd));
      } else {
        lib.close(fd);
      }
    },
  };
}
