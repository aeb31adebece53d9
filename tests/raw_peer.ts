// A bare ZeroMQ DEALER for tests: sends arbitrary frames and records what comes back, undecoded.
// Used to send garbage and to speak the protocol by hand, as a client in another language would.

import { Dealer } from "zeromq";
import { startSocketLoop } from "../transport/socket_loop.ts";
import { watchHandshake } from "../transport/handshake.ts";
import { Buffer } from "node:buffer";
import { PROTOCOL_VERSION } from "../protocol/mod.ts";
import { Recorder, testCurveOptions, WAIT_MS } from "./harness.ts";

/** libzmq's ZMQ_ROUTING_ID socket option. */
const ZMQ_ROUTING_ID = 5;

/** A raw peer. */
export interface RawPeer {
  send(frames: (string | Uint8Array)[]): void;
  /** Every message received, as decoded JSON arrays of the body frame (or null when not JSON). */
  received: Recorder<unknown>;
  /** Its CURVE public key (Z85) when encrypted: what a login's `key` field names. */
  key?: string;
  /** With `watchDisconnects`: an item for each established connection that dropped. */
  disconnects: Recorder<string>;
  close(): Promise<void>;
}

/**
 * Connects a raw DEALER to an endpoint, encrypted when the harness started that server so.
 * `routingId` makes it choose its own routing id, bytes a zeromq.js string option cannot hold (the
 * attack tests choose ids that look like libzmq's own); `source` connects from that loopback
 * address (127.0.0.2 and up are all this machine), as a second network address would;
 * `watchDisconnects` records each drop of its connection (libzmq re-dials by itself after one).
 */
export function rawPeer(
  endpoint: string,
  options: { routingId?: Uint8Array; source?: string; watchDisconnects?: boolean } = {},
): RawPeer {
  const curve = testCurveOptions(endpoint);
  const socket = new Dealer({ receiveTimeout: 0, sendTimeout: 0, linger: 0, ...curve });
  if (options.routingId) {
    const setter = (socket as unknown as {
      setStringOption(option: number, value: Uint8Array): void;
    }).setStringOption;
    setter.call(socket, ZMQ_ROUTING_ID, Buffer.from(options.routingId));
  }
  const received = new Recorder<unknown>();
  const disconnects = new Recorder<string>();
  const watch = options.watchDisconnects
    ? watchHandshake(socket, (address) => disconnects.push(address))
    : undefined;
  const loop = startSocketLoop(socket, {
    onMessage(frames) {
      let body: unknown = null;
      try {
        body = JSON.parse(new TextDecoder().decode(frames[frames.length - 1]));
      } catch { /* recorded as null */ }
      if (Array.isArray(body)) { for (const item of body) received.push(item); }
      else received.push(body);
    },
  }, { checkWritable: true });
  // libzmq takes a source address before the target: "tcp://127.0.0.2:0;127.0.0.1:5555".
  socket.connect(
    options.source ? endpoint.replace("tcp://", `tcp://${options.source}:0;`) : endpoint,
  );
  const key = "curvePublicKey" in curve ? curve.curvePublicKey : undefined;
  return {
    send: (frames) => loop.send(frames),
    received,
    key,
    disconnects,
    close: () => (watch?.stop(), loop.close()),
  };
}

/** Request ids of `request`, unique in the test process. */
let nextRequestId = 1;

/**
 * Sends one request as a client would and awaits its reply: a login names the peer's CURVE key, as
 * an encrypted server requires (PROTOCOL.md section 3.3), unless `body` gives `key` itself.
 */
export async function request(
  peer: RawPeer,
  body: Record<string, unknown>,
  ms = WAIT_MS,
): Promise<Record<string, unknown>> {
  const id = nextRequestId++;
  const key = body.op === "login" && !("key" in body) ? { key: peer.key } : {};
  peer.send([PROTOCOL_VERSION, JSON.stringify([{ ...body, ...key, id }])]);
  return await peer.received.waitFor(
    (m) => (m as { re?: number } | null)?.re === id,
    `the reply to ${JSON.stringify(body).slice(0, 60)}`,
    ms,
  ) as Record<string, unknown>;
}
