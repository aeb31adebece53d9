// The texts of a first dial's failures that more than one step of `chatz connect` can find: a port
// nothing listens on, and one side encrypting while the other does not.

/**
 * Says that nothing accepted a connection at `server` for `timeoutMs`.
 *
 * @example
 * ```ts
 * import { nothingListening } from "./dial_messages.ts";
 * nothingListening("tcp://127.0.0.1:5555", 5000);
 * // 'Cannot connect to "tcp://127.0.0.1:5555": nothing is listening there (connection refused …'
 * ```
 */
export function nothingListening(server: string, timeoutMs: number): string {
  return `Cannot connect to "${server}": nothing is listening there (connection refused within ` +
    `${timeoutMs} ms)`;
}

/**
 * Says which side encrypts and what to change, for a client that encrypts (`clientEncrypts`) and a
 * server that does not, or the other way round.
 *
 * @example
 * ```ts
 * import { encryptionMismatch } from "./dial_messages.ts";
 * encryptionMismatch("tcp://127.0.0.1:5555", true);
 * // 'Cannot connect to "tcp://127.0.0.1:5555": the server does not encrypt (it runs with …'
 * ```
 */
export function encryptionMismatch(server: string, clientEncrypts: boolean): string {
  const where = `Cannot connect to "${server}"`;
  return clientEncrypts
    ? `${where}: the server does not encrypt (it runs with --no-curve) and this client does; ` +
      `ask its operator to drop --no-curve, or connect with --no-curve to talk in clear ` +
      `(your password readable on the network)`
    : `${where}: the server encrypts (CURVE) and this client does not (--no-curve); connect ` +
      `without --no-curve`;
}
