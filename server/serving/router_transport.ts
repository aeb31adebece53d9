// The ZeroMQ ROUTER behind the transport seam: routing ids become peers, libzmq's connection notices
// become connectionChanged, failed sends (EHOSTUNREACH, EAGAIN) become sendFailed, and each peer's
// TCP connection is known by the descriptor its messages came from (ZMQ_SRCFD, transport/libzmq.ts).

import { isAutoRoutingId, isConnectionNotice } from "../../transport/routing_ids.ts";
import { type SocketError, startSocketLoop } from "../../transport/socket_loop.ts";
import type { ZmqSocket } from "../../transport/libzmq.ts";
import type { PeerTransport, Recipient, SendFailure, TransportEvents } from "./peer_transport.ts";

/** The ROUTER transport: a peer transport that also names the peer on each connection. */
export interface RouterTransport extends PeerTransport {
  /**
   * The id of the peer whose messages came over the TCP connection with descriptor `fd`, until
   * that peer's end notice; undefined when none did (a connection that never finished the
   * handshake or never sent a message).
   */
  peerOn(fd: number): string | undefined;
  /** The descriptor of the TCP connection peer `id`'s messages came over, until its end notice. */
  fdOf(id: string): number | undefined;
}

/**
 * Runs a bound ROUTER (with `ZMQ_ROUTER_MANDATORY`, so failed sends are reported, and connection
 * notices) as a peer transport delivering to `events`.
 */
export function startRouterTransport(router: ZmqSocket, events: TransportEvents): RouterTransport {
  /** Each peer's connection descriptor, and each descriptor's peer; both end with its notice. */
  const fdOf = new Map<string, number>();
  const peerOnFd = new Map<number, string>();
  const loop = startSocketLoop(router, {
    onMessage(frames) {
      const from = recipientOf(frames[0]);
      const rest = frames.slice(1);
      if (isConnectionNotice(rest)) {
        forget(from.id);
        return events.connectionChanged(from);
      }
      // Notices carry no metadata; every message after the handshake does.
      const fd = router.sourceFd;
      if (fd >= 0 && fdOf.get(from.id) !== fd) {
        fdOf.set(from.id, fd);
        peerOnFd.set(fd, from.id);
      }
      return events.received(from, rest, isAutoRoutingId(from.peer));
    },
    onDrained: () => events.drained(),
    onSendError(frames, error: SocketError) {
      const to = recipientOf(frames[0] as Uint8Array);
      events.sendFailed(to, failureOf(error.code), String(frames[frames.length - 1]), error.code);
    },
    onHandlerError: (error) => events.handlerError(error),
  }, { checkWritable: false });

  /** A connection ended: its descriptor may be reused by the next one libzmq accepts. */
  function forget(id: string): void {
    const fd = fdOf.get(id);
    if (fd === undefined) return;
    fdOf.delete(id);
    if (peerOnFd.get(fd) === id) peerOnFd.delete(fd);
  }

  return {
    endpoint: router.lastEndpoint,
    send: (to, frames) => loop.send([to.peer, ...frames]),
    close: () => loop.close(),
    peerOn: (fd) => peerOnFd.get(fd),
    fdOf: (id) => fdOf.get(id),
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
