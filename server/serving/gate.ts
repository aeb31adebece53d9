// The ZAP handler in front of the ROUTER: admits or refuses every new ZeroMQ handshake.
// Pausing answers 300 (temporary failure): existing sessions go on; libzmq then gives up on the refused
// connection, so clients re-dial themselves (the chatz client library does, backing off to 8 s).
// With CURVE it also remembers each client key's address, which the login flow asks for.

import { ZMQ_ROUTER, type ZmqContext, ZmqOption } from "../../transport/libzmq.ts";
import { startSocketLoop } from "../../transport/socket_loop.ts";
import type { Logger } from "../log.ts";
import type { Limiter } from "./shared_state.ts";
import type { BanList } from "./bans.ts";
import type { AddressCap } from "./address_cap.ts";
import { createClientKeys } from "./client_keys.ts";

/** The endpoint libzmq sends ZAP requests to (RFC 27), within one context. */
const ZAP_ENDPOINT = "inproc://zeromq.zap.01";
/** The ZAP domain the chat ROUTER asks about; without one libzmq skips ZAP for the NULL mechanism. */
export const ZAP_DOMAIN = "chatz";

/** The gate's controls. */
export interface Gate {
  readonly paused: boolean;
  pause(): void;
  resume(): void;
  readonly refused: number;
  /**
   * The network address of the latest admitted handshake made with this CURVE client public key
   * (Z85 text); undefined when no such handshake is remembered. Never set for `--no-curve`: the
   * NULL mechanism has no key (logins there take their socket's address, login_address.ts).
   */
  addressOf(key: string): string | undefined;
  close(): Promise<void>;
}

/** What the gate checks handshakes against, and where it logs them. */
export interface GateOptions {
  log: Logger;
  /** New connections per address. */
  connectLimit: Limiter;
  /** Banned address ranges: refused for good. */
  bans?: Pick<BanList, "address">;
  /** Open connections per address. */
  openConnections?: AddressCap;
}

/**
 * Binds the ZAP handler in `context`, the chat ROUTER's (ZAP is an inproc:// endpoint of its
 * context); must run before the chat ROUTER binds, in the same thread. Every handshake is logged
 * with its network address. With CURVE the client key ties the address to logins, which name it
 * (`addressOf`, docs/PROTOCOL.md 3.3). Throws when the handler cannot bind.
 */
export function openGate(context: ZmqContext, options: GateOptions): Gate {
  const { log, connectLimit, bans, openConnections } = options;
  const socket = context.socket(ZMQ_ROUTER);
  try {
    socket.setInt32Option(ZmqOption.LINGER, 0);
    socket.bind(ZAP_ENDPOINT);
  } catch (error) {
    socket.close();
    throw error;
  }
  let paused = false;
  let refused = 0;
  const decoder = new TextDecoder();
  const keys = createClientKeys();

  const loop = startSocketLoop(socket, {
    onMessage(frames) {
      // [sender, empty, version, request id, domain, address, identity, mechanism, credentials...]
      // With CURVE the one credential is the client's public key (RFC 27; libzmq curve_server.cpp).
      const [sender, empty, version, requestId, , address, , mechanism, key] = frames;
      if (!requestId || !address) return;
      const from = decoder.decode(address);
      // A banned address is refused for good (400): the client stops instead of re-dialling.
      const banned = bans?.address(from, Date.now());
      const tooMany = !paused && !banned && connectLimit.take(from, Date.now()) > 0;
      // Counted last: only a connection every other check admits takes a place.
      const full = !paused && !banned && !tooMany && openConnections?.admit(from) === false;
      const [status, text] = banned
        ? ["400", "Banned"]
        : paused
        ? ["300", "Server paused; retry later"]
        : tooMany
        ? ["300", "Too many connections from this address; retry later"]
        : full
        ? ["300", "Too many open connections from this address; retry later"]
        : ["200", "OK"];
      if (paused && !banned) refused++;
      if (banned) {
        log.warn("connect_refused", { address: from, reason: "banned", range: banned.target });
      } else if (tooMany) log.warn("connect_refused", { address: from, reason: "rate" });
      else if (full) log.warn("connect_refused", { address: from, reason: "open_connections" });
      else log.info("connect", { address: from, admitted: !paused });
      // Remembered before the answer: the client's login cannot arrive before its handshake ends.
      if (status === "200" && decoder.decode(mechanism) === "CURVE") keys.remember(key, from);
      loop.send([sender, empty, version, requestId, status, text, "", ""]);
    },
  }, { checkWritable: false });

  return {
    get paused() {
      return paused;
    },
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
    },
    get refused() {
      return refused;
    },
    addressOf: keys.addressOf,
    close: () => loop.close(),
  };
}
