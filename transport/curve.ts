// CURVE socket options: what a ZeroMQ socket needs to encrypt as a chatz server or client.
// Keys are Z85 text; protocol/curve.ts has the key format and the key endpoint's frames.

import { curveKeyPair } from "zeromq";

/**
 * Bytes CURVE adds to each message on the wire, which libzmq's `maxMessageSize` counts: the
 * command name `\x07MESSAGE` (8), the short nonce (8), the box's MAC (16) and a flags byte (1).
 */
export const CURVE_MESSAGE_OVERHEAD = 33;

/** Options of a CURVE server socket: it needs only its own secret key. */
export function curveServerOptions(secretKey: string): {
  curveServer: true;
  curveSecretKey: string;
} {
  return { curveServer: true, curveSecretKey: secretKey };
}

/**
 * Options of a CURVE client socket: the server's public key, and a fresh key pair of the client's
 * own. chatz authenticates people by password, not by client key, so each connection makes one.
 */
export function curveClientOptions(serverKey: string): {
  curveServerKey: string;
  curvePublicKey: string;
  curveSecretKey: string;
} {
  const { publicKey, secretKey } = curveKeyPair();
  return { curveServerKey: serverKey, curvePublicKey: publicKey, curveSecretKey: secretKey };
}
