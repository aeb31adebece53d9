// The ZeroMQ ROUTER behind the transport seam: routing ids become peers, libzmq's connection notices
// become connectionChanged, and failed sends (EHOSTUNREACH, EAGAIN) become sendFailed.

import type { Router } from "zeromq";
import { isAutoRoutingId, isConnectionNotice } from "../../transport/routing_ids.ts";
import { type SocketError, startSocketLoop } from "../../transport/socket_loop.ts";
import type { PeerTransport, Recipient, SendFailure, TransportEvents } from "./peer_transport.ts";

/**
 * Runs a bound ROUTER (created with timeouts 0 and `mandatory`, so failed sends are reported) as a
 * peer transport delivering to `events`.
 */
export function startRouterTransport(router: Router, events: TransportEvents): PeerTransport {
  const loop = startSocketLoop(router, {
    onMessage(frames) {
      const from = recipientOf(frames[0]);
      const rest = frames.slice(1);
      if (isConnectionNotice(rest)) return events.connectionChanged(from);
      return events.received(from, rest, isAutoRoutingId(from.peer));
    },
    onDrained: () => events.drained(),
    onSendError(frames, error: SocketError) {
      const to = recipientOf(frames[0] as Uint8Array);
      events.sendFailed(to, failureOf(error.code), String(frames[frames.length - 1]), error.code);
    },
    onHandlerError: (error) => events.handlerError(error),
  }, { checkWritable: false });
  return {
    endpoint: router.lastEndpoint ?? "",
    send: (to, frames) => loop.send([to.peer, ...frames]),
    close: () => loop.close(),
  };
}

function recipientOf(peer: Uint8Array): Recipient {
  return { id: latin1(peer), peer };
}

function failureOf(code: string | undefined): SendFailure {
  return code === "EHOSTUNREACH" ? "gone" : code === "EAGAIN" ? "full" : "other";
}

/** The peer key of a routing id: its bytes as a latin1 string, cheap to make and to hash. */
export function latin1(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}
