// The encryption wire: the CURVE key format and the plaintext key endpoint that hands out a server's
// public key, so a client can trust it on first use. Server and client import this; it does no I/O.

/** The first frame of every key endpoint message, both ways. */
export const KEY_PROTOCOL_VERSION = "chatz-key/1";

/** The key endpoint's answer, the second frame of its reply, as JSON. */
export interface KeyReply {
  /** The chat endpoint's CURVE public key, Z85 text. */
  key: string;
}

/** ZeroMQ's Z85 alphabet (RFC 32): 85 printable characters, no space, quote or backslash. */
const Z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
/** A CURVE key is 32 bytes, which Z85 writes as 40 characters. */
const KEY_TEXT_LENGTH = 40;

/**
 * Tells whether a text is a CURVE key as ZeroMQ writes it: 40 Z85 characters.
 *
 * @example
 * ```ts
 * import { isCurveKey } from "./curve.ts";
 * isCurveKey("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"); // true
 * isCurveKey("not a key"); // false
 * ```
 */
export function isCurveKey(text: string): boolean {
  if (text.length !== KEY_TEXT_LENGTH) return false;
  try {
    decodeZ85(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Decodes Z85 text (a multiple of 5 characters) to bytes; throws on other characters.
 *
 * @example
 * ```ts
 * import { decodeZ85 } from "./curve.ts";
 * decodeZ85("HelloWorld"); // Uint8Array [0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]
 * ```
 */
export function decodeZ85(text: string): Uint8Array {
  if (text.length % 5 !== 0) throw new Error(`Cannot decode Z85 text: length ${text.length}`);
  const bytes = new Uint8Array((text.length / 5) * 4);
  for (let i = 0; i < text.length; i += 5) {
    let value = 0;
    for (let j = i; j < i + 5; j++) {
      const digit = Z85.indexOf(text[j]);
      if (digit < 0) throw new Error(`Cannot decode Z85 text: bad character "${text[j]}"`);
      value = value * 85 + digit;
    }
    if (value > 0xffff_ffff) throw new Error(`Cannot decode Z85 text: "${text.slice(i, i + 5)}"`);
    new DataView(bytes.buffer).setUint32((i / 5) * 4, value);
  }
  return bytes;
}

/**
 * The default key endpoint of a chat endpoint: the same host, port + 1. A wildcard port (`*` or
 * `0`, for binding) stays a wildcard. Undefined when the endpoint is not `tcp://host:port` or the
 * port is the last one.
 *
 * @example
 * ```ts
 * import { keyEndpointFor } from "./curve.ts";
 * keyEndpointFor("tcp://chat.example.org:5555"); // "tcp://chat.example.org:5556"
 * keyEndpointFor("tcp://127.0.0.1:*"); // "tcp://127.0.0.1:*"
 * keyEndpointFor("ipc:///tmp/chatz.sock"); // undefined
 * ```
 */
export function keyEndpointFor(endpoint: string): string | undefined {
  const match = /^(tcp:\/\/.+):(\d+|\*)$/.exec(endpoint.trim());
  if (!match) return undefined;
  const [, base, port] = match;
  if (port === "*" || Number(port) === 0) return `${base}:*`;
  const next = Number(port) + 1;
  return next > 65535 ? undefined : `${base}:${next}`;
}
