// Where a login comes from, and what that address may still try: the CURVE client key the login
// names (the gate saw its handshake), or without encryption the connection's own socket, gives the
// address against which failures and logs count.

import type { ErrorCode, LoginRequest } from "../../../protocol/mod.ts";
import { hex } from "../../log.ts";
import type { Recipient } from "../peer_transport.ts";
import { tokenHash } from "../passwords.ts";
import { throttledWarning } from "../log_throttle.ts";
import type { BrokerDeps } from "./deps.ts";

/**
 * Why a login is refused: the error the client gets, the reason logged, and whether the login
 * throttle counts it against the connection and its address (a wrong password or token does;
 * nothing counts against the login itself, which would let strangers lock its owner out).
 */
export interface Refusal {
  code: ErrorCode;
  message: string;
  reason: string;
  counts?: "peer";
}

/** A login's identity as the flow checks it: the name as given, its key, its throttle keys. */
export interface Who {
  name: string;
  key: string;
  /** The connection's throttle key (`peer:<routing id>`). */
  peerKey: string;
  /** The connection's network address, when known (docs/PROTOCOL.md, section 3.3). */
  address?: string;
}

/** The throttle key of an address. */
function addressKey(address: string): string {
  return "addr:" + address;
}

/** The throttle key of an account at an address. */
function accountAtKey(account: string, address: string): string {
  return `${account}@${address}`;
}

/**
 * The connection's address, read from the gate by the login's CURVE client key, or the refusal of
 * a login on an encrypted server that names no key, or one the gate never saw (or forgot). On a
 * `--no-curve` server there is no key: the address is the peer's socket's (`peerAddress`).
 */
export function connectionAddress(
  deps: BrokerDeps,
  request: LoginRequest,
  to: Recipient,
): { address?: string } | Refusal {
  if (!deps.clientAddress) {
    const address = deps.peerAddress?.(to.id);
    return address === undefined ? {} : { address };
  }
  if (request.key === undefined) {
    return {
      code: "bad_request",
      message: "Cannot log in: this server encrypts, so a login must carry `key`, the client's " +
        "CURVE public key (docs/PROTOCOL.md, section 3.3)",
      reason: "no_key",
    };
  }
  const address = deps.clientAddress(request.key);
  if (address !== undefined) return { address };
  return {
    code: "unknown_key",
    message: "Cannot log in: the server does not know this connection's key (it saw no handshake " +
      "with it, or forgot it); re-dial and log in again",
    reason: "unknown_key",
  };
}

/**
 * The wait a login must honour: its connection's, its address's, its account's at that address;
 * never the account's alone, or strangers could lock its owner out. A valid session token passes
 * any wait: it cannot be guessed (256 random bits) and checking it costs no hashing.
 */
export function throttleRefusal(
  deps: BrokerDeps,
  who: Who,
  request: LoginRequest,
): Refusal | undefined {
  const { throttle, addressThrottle, now } = deps;
  const t = now();
  const { address } = who;
  const wait = Math.max(
    throttle.waitFor(who.peerKey, t),
    address === undefined ? 0 : addressThrottle.waitFor(addressKey(address), t),
    address === undefined ? 0 : throttle.waitFor(accountAtKey(who.key, address), t),
  );
  if (wait === 0) return undefined;
  if (
    request.token !== undefined && deps.store.tokenAccount(tokenHash(request.token), t) === who.key
  ) return undefined;
  return {
    code: "login_throttled",
    message: `Cannot log in as "${who.name}": too many failed attempts ${
      address === undefined ? "on this connection" : "from this address"
    }; retry in ${Math.ceil(wait / 1000)} s`,
    reason: "throttled",
  };
}

/** Counts a failed login against its connection, its address and its account at that address. */
export function countFailure(deps: BrokerDeps, who: Who): void {
  const { throttle, addressThrottle, now } = deps;
  throttle.fail(who.peerKey, now());
  if (who.address === undefined) return;
  addressThrottle.fail(addressKey(who.address), now());
  throttle.fail(accountAtKey(who.key, who.address), now());
}

/** Clears what a successful login clears: its connection's count and its account's at its address. */
export function countSuccess(deps: BrokerDeps, who: Who): void {
  deps.throttle.succeed(who.peerKey);
  // The address's own count stays: a guesser must not clear it by logging in to an account of its own.
  if (who.address !== undefined) deps.throttle.succeed(accountAtKey(who.key, who.address));
}

/**
 * Registrations one address may make, when the address is known: the operator's
 * `--registrations-per-minute`. The per-connection limit applies as well.
 */
export function registrationWait(deps: BrokerDeps, who: Who): number {
  return who.address === undefined
    ? 0
    : deps.registrationLimit.take(addressKey(who.address), deps.now());
}

/**
 * Refused-login log lines per address (per connection where the address is unknown): 10 at once,
 * then 10 a minute. The rest go to the debug level (metrics still count them), and the next line
 * logged says how many were held back.
 */
const REFUSAL_LINES = { burst: 10, perSecond: 10 / 60 };
/** Logs refused logins with the connection's id and address, rate-limited per source. */
export function refusalLog(deps: BrokerDeps): {
  log(to: Recipient, request: LoginRequest, reason: string, who?: Who): void;
  prune(now: number): void;
} {
  const lines = throttledWarning(deps.log, "login_refused", REFUSAL_LINES);
  return {
    log(to, request, reason, who) {
      const source = who?.address === undefined ? "peer:" + to.id : addressKey(who.address);
      const fields: Record<string, unknown> = {
        login: request.login.slice(0, 40),
        peer: hex(to.peer),
        address: who?.address ?? "unknown",
        reason,
      };
      // A login that only asks a person to confirm their new account is no failure: not a warning.
      lines.warn(source, fields, deps.now(), reason === "new_account" ? "info" : "warn");
    },
    prune: (now) => lines.prune(now),
  };
}
