// The password hashing thread: derives scrypt keys one at a time, on this one thread.
// scrypt takes 16 MiB a hash; done here, that memory is one reused block, not one per pool thread.

import { scryptSync } from "node:crypto";

/** A key to derive. */
export interface HashRequest {
  id: number;
  password: string;
  salt: Uint8Array;
  cost: { N: number; r: number; p: number };
  keyLength: number;
}

/** The derived key, or why there is none. */
export type HashResult =
  | { id: number; ok: true; key: Uint8Array }
  | { id: number; ok: false; error: string };

const port = self as unknown as {
  postMessage(message: HashResult): void;
  onmessage: ((event: { data: HashRequest }) => void) | null;
};

port.onmessage = ({ data }) => {
  try {
    const { N, r, p } = data.cost;
    const key = scryptSync(data.password, data.salt, data.keyLength, {
      N,
      r,
      p,
      maxmem: 256 * N * r * p,
    });
    port.postMessage({ id: data.id, ok: true, key: new Uint8Array(key) });
  } catch (error) {
    port.postMessage({ id: data.id, ok: false, error: (error as Error).message });
  }
};
