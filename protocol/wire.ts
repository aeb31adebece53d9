// The chatz wire format: a version frame and a body frame holding a JSON array of messages.
// Batching several messages per frame is what makes chatz fast; this module is its only codec.

/** The first frame of every chatz message, in both directions. */
export const PROTOCOL_VERSION = "chatz/1";

/** Largest body frame a peer may send; libzmq drops a connection that sends more. */
export const MAX_FRAME_BYTES = 1024 * 1024;

/**
 * Largest body frame a connection without a session may send: a login request fits many times over.
 * A connection that has not logged in costs the server at most this much decoding per frame.
 */
export const MAX_LOGIN_FRAME_BYTES = 16 * 1024;

/** Most messages in one body frame: bounds the work one frame can cause. */
export const MAX_BATCH = 512;

/** Longest chat message text, in UTF-16 code units (what JavaScript's `length` counts). */
export const MAX_TEXT_LENGTH = 4000;

/** Longest argument string of one command. */
export const MAX_ARGS_LENGTH = 8000;

/** Longest password accepted, in UTF-16 code units. */
export const MAX_PASSWORD_LENGTH = 1024;

/** A frame that could not be decoded, with the protocol error code that describes why. */
export class WireError extends Error {
  constructor(readonly code: "bad_frame" | "bad_version" | "too_large", message: string) {
    super(message);
    this.name = "WireError";
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes the frames after the routing id into the list of messages they carry.
 *
 * @example
 * ```ts
 * import { decodeFrames, PROTOCOL_VERSION } from "./wire.ts";
 * const enc = new TextEncoder();
 * decodeFrames([enc.encode(PROTOCOL_VERSION), enc.encode('[{"op":"ping","id":1}]')]);
 * ```
 */
export function decodeFrames(
  frames: readonly Uint8Array[],
  options: { maxBytes?: number } = {},
): unknown[] {
  const maxBytes = options.maxBytes ?? MAX_FRAME_BYTES;
  if (frames.length !== 2) {
    throw new WireError(
      "bad_frame",
      `Cannot decode message: expected 2 frames, got ${frames.length}`,
    );
  }
  const [version, body] = frames;
  if (!sameAscii(version, PROTOCOL_VERSION)) {
    throw new WireError(
      "bad_version",
      `Cannot decode message: unsupported protocol version, expected "${PROTOCOL_VERSION}"`,
    );
  }
  if (body.byteLength > maxBytes) {
    throw new WireError("too_large", `Cannot decode message: body over ${maxBytes} bytes`);
  }
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(body));
  } catch {
    throw new WireError("bad_frame", "Cannot decode message: body is not UTF-8 JSON");
  }
  if (!Array.isArray(value)) {
    throw new WireError("bad_frame", "Cannot decode message: body is not a JSON array");
  }
  if (value.length > MAX_BATCH) {
    throw new WireError(
      "too_large",
      `Cannot decode message: over ${MAX_BATCH} messages in one frame`,
    );
  }
  return value;
}

/** Joins already-encoded messages into one body frame: each message is encoded once, however many frames carry it. */
export function joinBatch(encoded: readonly string[]): string {
  return encoded.length === 1 ? `[${encoded[0]}]` : `[${encoded.join(",")}]`;
}

/** Encodes a list of messages as one body frame. */
export function encodeBatch(messages: readonly unknown[]): string {
  return JSON.stringify(messages);
}

/**
 * Encodes a list of messages as as few body frames as the limits allow: at most MAX_BATCH messages
 * and `maxBytes` bytes each (counted as 3 bytes a UTF-16 unit, UTF-8's most, so no frame is over).
 * A peer that decodes with `decodeFrames` accepts every frame; a single message over `maxBytes`
 * still gets a frame of its own.
 *
 * @example
 * ```ts
 * import { encodeBatches } from "./wire.ts";
 * encodeBatches([{ op: "ping", id: 1 }, { op: "ping", id: 2 }]); // ['[{"op":"ping","id":1},{"op":"ping","id":2}]']
 * ```
 */
export function encodeBatches(
  messages: readonly unknown[],
  maxBytes: number = MAX_FRAME_BYTES,
): string[] {
  if (messages.length <= MAX_BATCH) {
    const whole = encodeBatch(messages);
    if (whole.length * 3 <= maxBytes) return [whole];
  }
  const frames: string[] = [];
  let frame: string[] = [];
  let bytes = 2; // the brackets
  for (const message of messages) {
    const encoded = JSON.stringify(message);
    const size = encoded.length * 3 + 1; // and a comma
    if (frame.length > 0 && (frame.length === MAX_BATCH || bytes + size > maxBytes)) {
      frames.push(joinBatch(frame));
      frame = [];
      bytes = 2;
    }
    frame.push(encoded);
    bytes += size;
  }
  if (frame.length > 0) frames.push(joinBatch(frame));
  return frames;
}

function sameAscii(bytes: Uint8Array, text: string): boolean {
  if (bytes.byteLength !== text.length) return false;
  for (let i = 0; i < text.length; i++) {
    if (bytes[i] !== text.charCodeAt(i)) return false;
  }
  return true;
}
