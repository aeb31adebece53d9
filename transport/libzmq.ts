// libzmq's C API through Deno FFI, from the libzmq zeromq.js already loaded (its addon exports it):
// a context and a socket that report, with each message, the TCP connection it came from.
//
// Why: zeromq.js exposes no message metadata, and only libzmq's ZMQ_SRCFD (the descriptor of the
// connection a message arrived on, set on every frame once the handshake is done, CURVE or not:
// libzmq 4.3.5 src/stream_engine_base.cpp init_properties and decode_and_push, src/router.cpp xrecv)
// ties a ROUTER's routing id to its connection. The same library file is opened, so it is the same
// libzmq the rest of the process uses; only this module calls it directly.

import "zeromq"; // loads the addon, and with it libzmq, into the process before it is looked for

/** libzmq's socket types, options and flags used here (include/zmq.h, 4.3.5). */
export const ZMQ_ROUTER = 6;
const ZMQ_EVENTS = 15;
const ZMQ_LINGER = 17;
const ZMQ_LAST_ENDPOINT = 32;
const ZMQ_DONTWAIT = 1;
const ZMQ_SNDMORE = 2;
const ZMQ_POLLOUT = 2;
/** zmq_msg_get's property: the descriptor of the connection the message was read from. */
const ZMQ_SRCFD = 2;
/** sizeof(zmq_msg_t): 64 bytes on every platform libzmq supports (include/zmq.h). */
const MSG_BYTES = 64;
/** errno values libzmq reports that callers act on (Linux). */
const EINTR = 4;
const EAGAIN = 11;
const EHOSTUNREACH = 113;
const ERRNO_NAMES: Record<number, string> = {
  [EINTR]: "EINTR",
  [EAGAIN]: "EAGAIN",
  [EHOSTUNREACH]: "EHOSTUNREACH",
};
/** Longest endpoint text libzmq writes back (a tcp:// IPv6 address with port fits). */
const ENDPOINT_BYTES = 256;

const SYMBOLS = {
  zmq_ctx_new: { parameters: [], result: "pointer" },
  zmq_ctx_term: { parameters: ["pointer"], result: "i32", nonblocking: true },
  zmq_socket: { parameters: ["pointer", "i32"], result: "pointer" },
  zmq_close: { parameters: ["pointer"], result: "i32" },
  zmq_setsockopt: { parameters: ["pointer", "i32", "buffer", "usize"], result: "i32" },
  zmq_getsockopt: { parameters: ["pointer", "i32", "buffer", "buffer"], result: "i32" },
  zmq_bind: { parameters: ["pointer", "buffer"], result: "i32" },
  zmq_errno: { parameters: [], result: "i32" },
  zmq_strerror: { parameters: ["i32"], result: "pointer" },
  zmq_msg_init: { parameters: ["buffer"], result: "i32" },
  zmq_msg_close: { parameters: ["buffer"], result: "i32" },
  zmq_msg_recv: { parameters: ["buffer", "pointer", "i32"], result: "i32" },
  zmq_msg_data: { parameters: ["buffer"], result: "pointer" },
  zmq_msg_more: { parameters: ["buffer"], result: "i32" },
  zmq_msg_get: { parameters: ["buffer", "i32"], result: "i32" },
  zmq_send: { parameters: ["pointer", "buffer", "usize", "i32"], result: "i32" },
} as const;

type Lib = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
let library: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

/** libc's file calls: Deno asks for --allow-all to read anything under /proc/self. */
const LIBC_SYMBOLS = {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
} as const;
/** Bytes read from /proc/self/maps per call. */
const MAPS_CHUNK_BYTES = 65_536;
/** Bound on /proc/self/maps' size read (a process maps a few thousand regions at most). */
const MAPS_MAX_BYTES = 64 * 1024 * 1024;

/** The text of /proc/self/maps, read through libc. */
function readMaps(): string {
  const libc = Deno.dlopen("libc.so.6", LIBC_SYMBOLS);
  try {
    const fd = libc.symbols.open(new TextEncoder().encode("/proc/self/maps\0"), 0);
    if (fd < 0) throw new Error("Cannot find libzmq: /proc/self/maps cannot be read");
    const chunks: Uint8Array[] = [];
    let total = 0;
    try {
      while (total < MAPS_MAX_BYTES) {
        const chunk = new Uint8Array(MAPS_CHUNK_BYTES);
        const got = Number(libc.symbols.read(fd, chunk, BigInt(MAPS_CHUNK_BYTES)));
        if (got <= 0) break;
        chunks.push(chunk.subarray(0, got));
        total += got;
      }
    } finally {
      libc.symbols.close(fd);
    }
    const decoder = new TextDecoder();
    return chunks.map((chunk) => decoder.decode(chunk, { stream: true })).join("");
  } finally {
    libc.close();
  }
}

/**
 * The native addons this process loaded, from /proc/self/maps, zeromq.js's first: zeromq.js picks
 * one of several builds at run time (cmake-ts), and opening that same file again shares its libzmq.
 */
function loadedAddons(): string[] {
  const paths = new Set<string>();
  for (const line of readMaps().split("\n")) {
    const slash = line.indexOf("/");
    if (slash >= 0 && line.endsWith(".node")) paths.add(line.slice(slash));
  }
  return [...paths].sort((a, b) => Number(b.includes("zeromq")) - Number(a.includes("zeromq")));
}

function lib(): Lib {
  if (library) return library.symbols;
  // Another addon, or a build without the C API's exports, lacks a symbol: dlopen says so.
  for (const path of loadedAddons()) {
    try {
      library = Deno.dlopen(path, SYMBOLS);
      return library.symbols;
    } catch { /* not libzmq: try the next */ }
  }
  throw new Error("Cannot find libzmq: no loaded addon exports its C API (is zeromq loaded?)");
}

/** An error from libzmq, with its POSIX-style code (as zeromq.js spells it). */
export type ZmqError = Error & { code: string };

/** The error libzmq just reported, as "`action`: reason" (the reason alone when `action` is empty). */
function zmqError(action: string): ZmqError {
  const l = lib();
  const errno = l.zmq_errno();
  const text = l.zmq_strerror(errno);
  const reason = text === null ? `errno ${errno}` : new Deno.UnsafePointerView(text).getCString();
  const error = new Error(action ? `${action}: ${reason}` : reason) as ZmqError;
  error.code = ERRNO_NAMES[errno] ?? `E${errno}`;
  return error;
}

/** A libzmq context: sockets that talk over inproc:// (ZAP among them) must share one. */
export interface ZmqContext {
  /** Opens a socket of `type` (ZMQ_ROUTER) in this context. */
  socket(type: number): ZmqSocket;
  /** Ends the context once every socket is closed and its linger is over (off-thread). */
  term(): Promise<void>;
}

/** Opens a new libzmq context. */
export function openContext(): ZmqContext {
  const l = lib();
  const context = l.zmq_ctx_new();
  if (context === null) throw zmqError("Cannot create a ZeroMQ context");
  let terminated: Promise<void> | undefined;
  return {
    socket: (type) => openSocket(context, type),
    term() {
      terminated ??= l.zmq_ctx_term(context).then(() => undefined);
      return terminated;
    },
  };
}

/**
 * One libzmq socket, driven without blocking: the shape transport/socket_loop.ts runs. `readable`
 * reads the next message ahead (a receive that finds none also lets libzmq process its commands,
 * which ZMQ_FD's edge requires); `receive()` hands it over and `sourceFd` then names its connection.
 */
export interface ZmqSocket {
  /** Whether a message is waiting (read ahead, so `receive` returns it). */
  readonly readable: boolean;
  /** Whether a send would not block (ZMQ_POLLOUT). */
  readonly writable: boolean;
  /** The message `readable` found, frames in order; throws when there is none. */
  receive(): Uint8Array[];
  /** The connection descriptor (ZMQ_SRCFD) of the message `receive` last returned; -1 if none. */
  readonly sourceFd: number;
  /** Sends the frames as one message without waiting; throws a ZmqError (EAGAIN, EHOSTUNREACH). */
  send(frames: (string | Uint8Array)[]): void;
  /** An integer option (the socket loop reads ZMQ_FD this way). */
  getInt32Option(option: number): number;
  /** Sets an int option (throws a ZmqError naming it when libzmq refuses). */
  setInt32Option(option: number, value: number): void;
  /** Sets an int64 option (ZMQ_MAXMSGSIZE). */
  setInt64Option(option: number, value: number): void;
  /** Sets a text option (ZMQ_ZAP_DOMAIN, a Z85 CURVE key). */
  setStringOption(option: number, value: string): void;
  /** Binds; throws a ZmqError whose message is libzmq's reason ("Address already in use"). */
  bind(endpoint: string): void;
  /** The endpoint the last bind resolved to (the port a `*` chose). */
  readonly lastEndpoint: string;
  /** Closes the socket (its linger still sends what is queued); idempotent. */
  close(): void;
}

const encoder = new TextEncoder();
/** Attempts of a call that a signal keeps interrupting (EINTR) before its error is reported. */
const EINTR_ATTEMPTS = 100;

/**
 * After a libzmq call failed (-1): runs it again while it failed with EINTR, boundedly; what the
 * last attempt returned (-1 when the failure was another, still in zmq_errno).
 */
function afterInterrupts(call: () => number): number {
  let result = -1;
  for (let i = 0; i < EINTR_ATTEMPTS && result < 0 && lib().zmq_errno() === EINTR; i++) {
    result = call();
  }
  return result;
}

/**
 * A socket of `type` in `context`. One closure on purpose (about 130 lines): its methods share the
 * socket handle, the one reused `zmq_msg_t`, the scratch buffers of the option calls and the message
 * read ahead, which separate functions would pass around on every frame.
 */
function openSocket(context: Deno.PointerObject, type: number): ZmqSocket {
  const l = lib();
  const socket = l.zmq_socket(context, type);
  if (socket === null) throw zmqError("Cannot create a ZeroMQ socket");
  const msg = new Uint8Array(MSG_BYTES);
  if (l.zmq_msg_init(msg) !== 0) throw zmqError("Cannot create a ZeroMQ message");
  const int32 = new Int32Array(1);
  const int32Bytes = new Uint8Array(int32.buffer);
  const int64 = new BigInt64Array(1);
  const int64Bytes = new Uint8Array(int64.buffer);
  const size = new BigUint64Array(1);
  const sizeBytes = new Uint8Array(size.buffer);
  let next: Uint8Array[] | undefined;
  let nextFd = -1;
  let sourceFd = -1;
  let closed = false;

  /** Reads one whole message into `next`; false when none is waiting. */
  function readAhead(): boolean {
    if (closed) return false;
    let length = l.zmq_msg_recv(msg, socket, ZMQ_DONTWAIT);
    if (length < 0) {
      // EAGAIN: nothing waiting; EINTR: a signal came first (the readiness wait polls again).
      const errno = l.zmq_errno();
      if (errno === EAGAIN || errno === EINTR) return false;
      throw zmqError("Cannot receive a ZeroMQ message");
    }
    // Every frame from a peer carries its connection's metadata; the first one's is enough.
    nextFd = l.zmq_msg_get(msg, ZMQ_SRCFD);
    const frames: Uint8Array[] = [];
    for (;;) {
      const frame = new Uint8Array(length);
      if (length > 0) Deno.UnsafePointerView.copyInto(l.zmq_msg_data(msg)!, frame);
      frames.push(frame);
      if (l.zmq_msg_more(msg) === 0) break;
      // The rest of a message is already in libzmq: a multipart message arrives whole.
      length = l.zmq_msg_recv(msg, socket, ZMQ_DONTWAIT);
      if (length < 0) length = afterInterrupts(() => l.zmq_msg_recv(msg, socket, ZMQ_DONTWAIT));
      if (length < 0) throw zmqError("Cannot receive a ZeroMQ message part");
    }
    next = frames;
    return true;
  }

  function events(): number {
    return getInt(ZMQ_EVENTS);
  }

  function getInt(option: number): number {
    size[0] = 4n;
    if (l.zmq_getsockopt(socket, option, int32Bytes, sizeBytes) !== 0) {
      throw zmqError(`Cannot read socket option ${option}`);
    }
    return int32[0];
  }

  function setOption(option: number, bytes: Uint8Array, what: string): void {
    if (l.zmq_setsockopt(socket, option, bytes, BigInt(bytes.byteLength)) !== 0) {
      throw zmqError(`Cannot set socket option ${option} (${what})`);
    }
  }

  return {
    get readable() {
      return next !== undefined || readAhead();
    },
    get writable() {
      return !closed && (events() & ZMQ_POLLOUT) !== 0;
    },
    receive() {
      if (next === undefined && !readAhead()) throw new Error("Cannot receive: no message waiting");
      const frames = next!;
      next = undefined;
      sourceFd = nextFd;
      return frames;
    },
    get sourceFd() {
      return sourceFd;
    },
    send(frames) {
      const last = frames.length - 1;
      for (let i = 0; i <= last; i++) {
        const frame = frames[i];
        const bytes = typeof frame === "string" ? encoder.encode(frame) : frame;
        const flags = ZMQ_DONTWAIT | (i < last ? ZMQ_SNDMORE : 0);
        // A ROUTER refuses a message at its first frame (unknown peer, full queue), never later.
        const size = BigInt(bytes.byteLength);
        // A frame interrupted by a signal is sent again: a message must never be left half sent.
        if (
          l.zmq_send(socket, bytes, size, flags) < 0 &&
          afterInterrupts(() => l.zmq_send(socket, bytes, size, flags)) < 0
        ) {
          throw zmqError("Cannot send a ZeroMQ message");
        }
      }
    },
    getInt32Option: getInt,
    setInt32Option(option, value) {
      int32[0] = value;
      setOption(option, int32Bytes, String(value));
    },
    setInt64Option(option, value) {
      int64[0] = BigInt(value);
      setOption(option, int64Bytes, String(value));
    },
    setStringOption(option, value) {
      setOption(option, encoder.encode(value), "text");
    },
    bind(endpoint) {
      if (l.zmq_bind(socket, encoder.encode(endpoint + "\0")) !== 0) {
        throw zmqError(""); // the caller names the endpoint
      }
    },
    get lastEndpoint() {
      const text = new Uint8Array(ENDPOINT_BYTES);
      size[0] = BigInt(ENDPOINT_BYTES);
      if (l.zmq_getsockopt(socket, ZMQ_LAST_ENDPOINT, text, sizeBytes) !== 0) return "";
      const end = text.indexOf(0);
      return new TextDecoder().decode(text.subarray(0, end < 0 ? ENDPOINT_BYTES : end));
    },
    close() {
      if (closed) return;
      closed = true;
      next = undefined;
      l.zmq_msg_close(msg);
      l.zmq_close(socket);
    },
  };
}

/** libzmq's option numbers for what chatz sets on its sockets (include/zmq.h, 4.3.5). */
export const ZmqOption = {
  LINGER: ZMQ_LINGER,
  /** int64: largest message accepted. */
  MAXMSGSIZE: 22,
  SNDHWM: 23,
  RCVHWM: 24,
  ROUTER_MANDATORY: 33,
  CURVE_SERVER: 47,
  CURVE_SECRETKEY: 49,
  ZAP_DOMAIN: 55,
  HANDSHAKE_IVL: 66,
} as const;
