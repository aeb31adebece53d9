// How `chatz serve` encrypts: CURVE by default (key pair in DATA/curve.key, public key served on
// the key endpoint), or plaintext when the operator asks for it with --no-curve, loudly.

import { keyEndpointFor } from "../../protocol/curve.ts";
import type { Logger } from "../log.ts";
import { type CurveKeys, loadCurveKeys } from "./curve_keys.ts";

/** `--key-bind none`: no key endpoint, for operators who hand the key out another way. */
export const NO_KEY_BIND = "none";

/** What `chatz serve` prints (stderr) and logs when it serves without encryption. */
export const PLAINTEXT_WARNING =
  "WARNING: serving WITHOUT encryption (--no-curve, or curve = false in the config): passwords " +
  "and messages travel in clear, readable by anyone on the network path";

/** The encryption a server runs with, as `status` shows it. */
export type Encryption =
  | { mode: "curve"; publicKey: string; keyEndpoint?: string }
  | { mode: "plaintext"; warning: string };

/** The server's encryption settings once the key is loaded; the key endpoint is not bound yet. */
export interface EncryptionSetup {
  /** Undefined for a plaintext server. */
  keys?: CurveKeys;
  /** Where to bind the key endpoint; undefined when none is served. */
  keyBind?: string;
}

/**
 * Loads (or makes) the key pair unless `curve` is false, and picks the key endpoint: `keyBind`,
 * else the chat endpoint's port + 1; `"none"` serves none. Throws an Error with a message for the
 * operator on a contradiction or an unusable key file.
 *
 * @example
 * ```ts
 * import { setUpEncryption } from "./encryption.ts";
 * import { createLogger } from "../log.ts";
 * const log = createLogger("info", (record) => console.error(record));
 * const setup = await setUpEncryption({ bind: "tcp://0.0.0.0:5555", data: "chatz-data" }, log);
 * console.log(setup.keys?.publicKey, setup.keyBind); // "rq:rM>…", "tcp://0.0.0.0:5556"
 * ```
 */
export async function setUpEncryption(
  options: { bind: string; data: string; curve?: boolean; keyBind?: string },
  log: Logger,
): Promise<EncryptionSetup> {
  if (options.curve === false) {
    if (options.keyBind !== undefined && options.keyBind !== NO_KEY_BIND) {
      throw new Error(
        `Cannot serve the CURVE key on "${options.keyBind}": --no-curve turns encryption off; ` +
          `drop --key-bind or --no-curve`,
      );
    }
    log.warn("plaintext", { warning: PLAINTEXT_WARNING });
    return {};
  }
  const loaded = await loadCurveKeys(options.data);
  log.info(loaded.created ? "curve_key_created" : "curve_key_loaded", {
    path: loaded.path,
    key: loaded.keys.publicKey,
  });
  if (options.keyBind === NO_KEY_BIND) return { keys: loaded.keys };
  const keyBind = options.keyBind ?? keyEndpointFor(options.bind);
  if (keyBind === undefined) {
    // An ipc:// chat endpoint has no "port + 1": clients then need --server-key.
    log.warn("no_key_endpoint", {
      reason: `no default key endpoint for "${options.bind}"; give --key-bind to serve one`,
    });
  }
  return { keys: loaded.keys, keyBind };
}

/**
 * The `status` line about encryption.
 *
 * @example
 * ```ts
 * import { describeEncryption } from "./encryption.ts";
 * describeEncryption({ mode: "curve", publicKey: "rq:rM>…", keyEndpoint: "tcp://0.0.0.0:5556" });
 * // "CURVE, public key rq:rM>…; key endpoint tcp://0.0.0.0:5556"
 * ```
 */
export function describeEncryption(encryption: Encryption): string {
  if (encryption.mode === "plaintext") return `NONE: ${encryption.warning}`;
  const keys = encryption.keyEndpoint
    ? `key endpoint ${encryption.keyEndpoint}`
    : "no key endpoint: clients need --server-key";
  return `CURVE, public key ${encryption.publicKey}; ${keys}`;
}
