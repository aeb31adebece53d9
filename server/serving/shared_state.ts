// The state two server processes serving one chat would have to share, named in one place:
// sessions and presence, groups, duplicate ids, the login throttle and the rate limits.

import type { OnlineUser, Sent } from "../../protocol/plugin.ts";
import type { ClientIdSplit } from "./client_ids.ts";
import type { Group, LeaveOutcome } from "./groups.ts";
import type { RateLimit } from "./rate_limit.ts";
import type { Session } from "./sessions.ts";

/**
 * Client message ids remembered to drop re-sent duplicates: a re-send is recognised while fewer than
 * this many other sends with an id came after its original (up to twice as many, see RecentSends);
 * an older re-send is stored again. A client re-sends within seconds, so this is minutes of traffic.
 */
export const DEDUP_WINDOW = 100_000;

/** Who is online: sessions by peer and by account. Presence is what this says about accounts. */
export interface SessionDirectory {
  /** Adds a session; true when it is its account's first (the account came online). */
  add(session: Session): boolean;
  /** Removes a session; `last` when it was its account's last (the account went offline). */
  remove(peerKey: string): { session: Session; last: boolean } | undefined;
  get(peerKey: string): Session | undefined;
  /** An account's sessions, oldest first. */
  of(account: string): readonly Session[];
  all(): IterableIterator<Session>;
  list(): Session[];
  /** Every account online, for `/who`. */
  online(): OnlineUser[];
  /** Sessions heard from last before `cutoff`. */
  idleSince(cutoff: number): Session[];
  readonly sessionCount: number;
  readonly accountCount: number;
}

/** Groups and their members, answering every membership check on the message path. */
export interface GroupDirectory {
  get(name: string): Group | undefined;
  list(): Group[];
  groupsOf(account: string): Group[];
  create(name: string, owner: { key: string; login: string }, created: number): Group;
  addMember(group: Group, account: string, login: string): void;
  removeMember(group: Group, account: string): LeaveOutcome;
  clear(): void;
  readonly size: number;
}

/**
 * What each recent send with a client id returned, by account (its name key), the send's number
 * within its command (a command may send several messages) and the command's client id as the
 * request carried it. The parts are passed apart: the message path never joins them into a key.
 */
export interface DuplicateIds {
  /**
   * What the send returned while it is remembered. `split`, when given, is `splitClientId`'s split
   * of this send and cid (the chat core splits each once for the store too); it changes nothing.
   */
  get(account: string, send: number, cid: string, split?: ClientIdSplit): Sent | undefined;
  remember(account: string, send: number, cid: string, sent: Sent, split?: ClientIdSplit): void;
  /** Forgets everything, for a commit that failed after sends were remembered. */
  clear(): void;
}

/** A send's client id stored with its message: `<send number>:<cid>` (the number has no ':'). */
export function storedClientId(send: number, cid: string): string {
  return `${send}:${cid}`;
}

/** The send number and client id of a stored client id; undefined when `stored` is not one. */
export function parseStoredClientId(stored: string): { send: number; cid: string } | undefined {
  const colon = stored.indexOf(":");
  const send = Number(stored.slice(0, colon));
  if (colon < 1 || !Number.isSafeInteger(send) || send < 0) return undefined;
  return { send, cid: stored.slice(colon + 1) };
}

/** One send's client id as a single string, `<account>\0<send>:<cid>`: how cluster nodes pass it on. */
export function sendKey(account: string, send: number, cid: string): string {
  return `${account}\u0000${storedClientId(send, cid)}`;
}

/** The parts of a `sendKey`; undefined when `key` is not one. */
export function parseSendKey(
  key: string,
): { account: string; send: number; cid: string } | undefined {
  const nul = key.indexOf("\u0000");
  const stored = nul < 0 ? undefined : parseStoredClientId(key.slice(nul + 1));
  return stored && { account: key.slice(0, nul), ...stored };
}

/** Failed logins per key: a connection, an account (`/passwd`), an address, an account at an address. */
export interface Throttle {
  waitFor(key: string, now: number): number;
  fail(key: string, now: number): number;
  succeed(key: string): void;
  prune(now: number): void;
}

/** Token buckets per key; `limit` may be changed in place by a reload. */
export interface Limiter {
  readonly limit: RateLimit;
  take(key: string, now: number): number;
  prune(now: number): void;
}

/**
 * Everything a second server process would have to see as this one does. Message ids are not here:
 * the store allocates them with each message (`Store.addMessage`), so a shared store shares them.
 */
export interface SharedState {
  sessions: SessionDirectory;
  groups: GroupDirectory;
  duplicates: DuplicateIds;
  /**
   * Failed logins per connection, per account at an address, and `/passwd` tries per account
   * (`TARGET_POLICY`).
   */
  loginThrottle: Throttle;
  /** Failed logins per network address, the guesser's own back-off (`ADDRESS_POLICY`). */
  addressThrottle: Throttle;
  /** Commands per account: the flood limit. */
  commandLimit: Limiter;
  /** New connections per network address. */
  connectLimit: Limiter;
  /** Accounts registered per network address. */
  registrationLimit: Limiter;
}
