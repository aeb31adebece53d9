// The server's CURVE key pair: `<data>/curve.key`, JSON `{ "public": z85, "secret": z85 }`, mode 0600.
// Made with zeromq's curveKeyPair() on the first `chatz serve --curve`, then reused on every start.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { curveKeyPair } from "zeromq";
import { decodeZ85, isCurveKey } from "../../protocol/curve.ts";

/** The key file's name inside the data folder. */
export const CURVE_KEY_FILE = "curve.key";

/** A CURVE key pair in Z85 text. */
export interface CurveKeys {
  publicKey: string;
  secretKey: string;
}

/** The server's key pair and where it came from. */
export interface LoadedCurveKeys {
  keys: CurveKeys;
  path: string;
  /** True when this call made the file. */
  created: boolean;
}

/** PKCS #8 header of a raw X25519 private key (RFC 8410), so WebCrypto can import the secret. */
const X25519_PKCS8_PREFIX = [
  0x30,
  0x2e,
  0x02,
  0x01,
  0x00,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x6e,
  0x04,
  0x22,
  0x04,
  0x20,
];

/** The key file of a data folder. */
export function curveKeyPath(dataDir: string): string {
  return join(dataDir, CURVE_KEY_FILE);
}

/**
 * Loads the data folder's key pair, making it first when the file is missing. Refuses a file other
 * users may read, one that is not the documented JSON, and one whose halves do not belong together.
 *
 * @example
 * ```ts
 * import { loadCurveKeys } from "./curve_keys.ts";
 * const { keys, created } = await loadCurveKeys("chatz-data");
 * console.log(`CURVE public key: ${keys.publicKey}${created ? " (new)" : ""}`);
 * ```
 */
export async function loadCurveKeys(dataDir: string): Promise<LoadedCurveKeys> {
  const path = curveKeyPath(dataDir);
  const created = createKeyFile(path);
  let info: Deno.FileInfo;
  let text: string;
  try {
    info = Deno.statSync(path);
    text = Deno.readTextFileSync(path);
  } catch (error) {
    throw new Error(`Cannot read the CURVE key file "${path}": ${(error as Error).message}`);
  }
  if (info.mode !== null && (info.mode & 0o077) !== 0) {
    const mode = (info.mode & 0o777).toString(8).padStart(4, "0");
    throw new Error(
      `Cannot use the CURVE key file "${path}": other users may read it (mode ${mode}); ` +
        `run chmod 600 on it`,
    );
  }
  const keys = parseKeyFile(text);
  if (!keys) {
    throw new Error(
      `Cannot read the CURVE key file "${path}": not JSON with a Z85 "public" and "secret" key`,
    );
  }
  if (!sameBytes(await publicKeyOf(keys.secretKey), decodeZ85(keys.publicKey))) {
    throw new Error(
      `Cannot use the CURVE key file "${path}": its public key does not belong to its secret key`,
    );
  }
  return { keys, path, created };
}

/** Writes a new key pair unless the file exists; true when it wrote one. */
function createKeyFile(path: string): boolean {
  if (existsSync(path)) return false;
  const { publicKey, secretKey } = curveKeyPair();
  const text = JSON.stringify({ public: publicKey, secret: secretKey }) + "\n";
  try {
    // createNew: two servers starting at once cannot overwrite each other's key.
    Deno.writeTextFileSync(path, text, { mode: 0o600, createNew: true });
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    throw new Error(`Cannot create the CURVE key file "${path}": ${(error as Error).message}`);
  }
}

function parseKeyFile(text: string): CurveKeys | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { public: publicKey, secret: secretKey } = value as Record<string, unknown>;
  if (typeof publicKey !== "string" || !isCurveKey(publicKey)) return undefined;
  if (typeof secretKey !== "string" || !isCurveKey(secretKey)) return undefined;
  return { publicKey, secretKey };
}

/** CURVE is X25519: derives the public key from the secret with WebCrypto. */
async function publicKeyOf(secretKey: string): Promise<Uint8Array> {
  const pkcs8 = new Uint8Array([...X25519_PKCS8_PREFIX, ...decodeZ85(secretKey)]);
  const key = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "X25519" }, true, [
    "deriveBits",
  ]);
  const { x } = await crypto.subtle.exportKey("jwk", key);
  const binary = atob((x ?? "").replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
