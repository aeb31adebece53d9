// Which network address each CURVE client key last came from, as the handshake gate saw it: how the
// login flow learns an encrypted connection's address (a login names its key).

import { decodeZ85, isCurveKey } from "../../protocol/curve.ts";
import { hex } from "../log.ts";

/**
 * Client keys remembered with their address, newest kept. A login follows its handshake within
 * seconds; this many handshakes in between is far more than a server admits in that time (600 a
 * minute per address by default), and the table stays under about 13 MiB (some 200 bytes an entry).
 * A key pushed out meanwhile gets `unknown_key` at login and the client re-dials.
 */
export const CLIENT_KEYS_KEPT = 65_536;

/** Client key → address, for the last `limit` keys seen. */
export interface ClientKeys {
  /** Notes an admitted handshake's key (32 bytes; anything else is ignored) and address. */
  remember(key: Uint8Array | undefined, address: string): void;
  /** The address of the latest handshake with this key (Z85 text), if it is still remembered. */
  addressOf(key: string): string | undefined;
  readonly size: number;
}

/** An empty table keeping at most `limit` keys; the longest unseen goes first. */
export function createClientKeys(limit = CLIENT_KEYS_KEPT): ClientKeys {
  /** Key (hex) → address, oldest first: a Map keeps insertion order. */
  const keys = new Map<string, string>();
  return {
    remember(key, address) {
      if (key?.length !== 32) return;
      const id = hex(key);
      keys.delete(id); // re-inserted as the newest
      keys.set(id, address);
      if (keys.size > limit) keys.delete(keys.keys().next().value!);
    },
    addressOf(key) {
      return isCurveKey(key) ? keys.get(hex(decodeZ85(key))) : undefined;
    },
    get size() {
      return keys.size;
    },
  };
}
