// The key endpoint: a plaintext ROUTER beside the encrypted chat endpoint that tells anyone who asks
// the server's CURVE public key, so a client can trust it on first use. It runs on the main thread.

import { KEY_PROTOCOL_VERSION, type KeyReply } from "../../protocol/curve.ts";
import { type Responder, serveRequests } from "../../transport/request_reply.ts";

/** Requests are two short frames; anything bigger is not a key request (libzmq drops the peer). */
const MAX_REQUEST_BYTES = 1024;

/** The bound key endpoint. */
export type KeyEndpoint = Responder;

/**
 * Binds the key endpoint. It answers every message whose first frame is `chatz-key/1` with
 * [`chatz-key/1`, `{"key":"<public key>"}`] and ignores anything else.
 *
 * @example
 * ```ts
 * import { openKeyEndpoint } from "./key_endpoint.ts";
 * const keys = await openKeyEndpoint("tcp://0.0.0.0:5556", "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
 * console.log(`key endpoint: ${keys.endpoint}`);
 * await keys.close();
 * ```
 */
export async function openKeyEndpoint(bind: string, publicKey: string): Promise<KeyEndpoint> {
  const body = JSON.stringify({ key: publicKey } satisfies KeyReply);
  const decoder = new TextDecoder();
  try {
    return await serveRequests(bind, ([version]) => {
      if (!version || decoder.decode(version) !== KEY_PROTOCOL_VERSION) return undefined;
      return [KEY_PROTOCOL_VERSION, body];
    }, {
      linger: 0, // an answer nobody waits for any more is not worth holding the shutdown for
      maxMessageSize: MAX_REQUEST_BYTES,
    });
  } catch (error) {
    throw new Error(`Cannot serve the CURVE key on "${bind}": ${(error as Error).message}`);
  }
}
