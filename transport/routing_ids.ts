// What a ROUTER owner must do about libzmq's routing ids: seed the counter that names connections,
// ask for a notice at every connection's start and end, and tell ids libzmq made from chosen ones.

/**
 * libzmq's ZMQ_ROUTER_NOTIFY (draft API, built into zeromq.js) and its two flags: the ROUTER then
 * delivers an empty message from a connection when its handshake completes and when it ends.
 */
const ZMQ_ROUTER_NOTIFY = 97;
const ZMQ_NOTIFY_CONNECT = 1;
const ZMQ_NOTIFY_DISCONNECT = 2;
/** Length of an id libzmq makes: a zero byte, then its 32-bit counter big-endian. */
const AUTO_ID_BYTES = 5;

const SYMBOLS = { srand: { parameters: ["u32"], result: "void" } } as const;

/**
 * Seeds the C library's rand() with 32 random bits. libzmq 4.3.5 starts each ROUTER's routing-id
 * counter from rand() and never seeds it (zeromq/libzmq#4633), so every process started from the
 * same value and the next connection's id was known in advance. Call it before creating the ROUTER.
 */
export function seedRoutingIdCounter(): void {
  const libc = Deno.dlopen("libc.so.6", SYMBOLS);
  try {
    libc.symbols.srand(crypto.getRandomValues(new Uint32Array(1))[0]);
  } finally {
    libc.close();
  }
}

/**
 * Asks `router` for connection notices (see `isConnectionNotice`); set before `bind`. Returns false,
 * changing nothing, when this libzmq lacks the option.
 */
export function enableConnectionNotices(router: object): boolean {
  const setter = (router as { setInt32Option?: (option: number, value: number) => void })
    .setInt32Option;
  if (typeof setter !== "function") return false;
  try {
    setter.call(router, ZMQ_ROUTER_NOTIFY, ZMQ_NOTIFY_CONNECT | ZMQ_NOTIFY_DISCONNECT);
    return true;
  } catch {
    return false; // EINVAL: a libzmq built without the draft API
  }
}

/**
 * Whether the frames after a routing id are a connection notice: the one empty frame libzmq delivers
 * when that connection starts or ends. (A peer can send one too; it can only end its own session.)
 */
export function isConnectionNotice(frames: readonly Uint8Array[]): boolean {
  return frames.length === 1 && frames[0].byteLength === 0;
}

/**
 * Whether libzmq could have made this routing id itself. Any other id was chosen by the peer; ids of
 * this shape may be chosen too, which only an unpredictable counter makes harmless.
 *
 * @example
 * ```ts
 * import { isAutoRoutingId } from "./routing_ids.ts";
 * isAutoRoutingId(new Uint8Array([0, 1, 2, 3, 4])); // true
 * isAutoRoutingId(new TextEncoder().encode("mallory")); // false
 * ```
 */
export function isAutoRoutingId(id: Uint8Array): boolean {
  return id.byteLength === AUTO_ID_BYTES && id[0] === 0;
}
