// Password hashing with scrypt on one hashing thread: salted, slow, parameters kept with each hash.
// Also session tokens: random, stored only as their SHA-256, so a stolen database cannot log anyone in.

import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { HashRequest, HashResult } from "./hash_worker.ts";

/** scrypt cost: N=2^14, r=8 takes about 50 ms here and 16 MiB of memory; raise N as machines grow. */
const SCRYPT = { N: 16384, r: 8, p: 1 };
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

/** Most memory a stored hash's parameters may ask for: a tampered row must not take the server's. */
const MAX_SCRYPT_BYTES = 64 * 1024 * 1024;
/**
 * How long the hashing thread stays up with nothing to do. Its 16 MiB block is reused by the next
 * thread (glibc keeps the arena), so stopping costs a thread start, and frees its V8 isolate.
 */
const HASHER_IDLE_MS = 30_000;

/**
 * The hashing thread. scrypt through node:crypto's async API runs on Deno's blocking pool, whose
 * threads come and go, each keeping its own malloc arena with a 16 MiB block in it: 300 logins took
 * the server from 79 to 290 MiB. One thread deriving one key at a time keeps one block.
 */
let hasher: Worker | undefined;
let idleTimer: ReturnType<typeof setTimeout> | undefined;
/** Started by a server: kept for the server's life, its memory counted from the start. */
let kept = false;
let nextId = 1;
/**
 * The derivation that finished last: how long it had waited, and when it finished. Its login's
 * answer is on its way then, and the client has not spoken since it asked (oldestHashWaitMs).
 */
let lastDone = { waitedMs: 0, at: -Infinity };
/** Derivations asked for and not done, oldest first (ids grow; a Map keeps insertion order). */
const waiting = new Map<
  number,
  { resolve: (key: Buffer) => void; reject: (e: Error) => void; since: number }
>();

function hashingThread(): Worker {
  clearTimeout(idleTimer);
  if (hasher) return hasher;
  const worker = new Worker(new URL("./hash_worker.ts", import.meta.url), { type: "module" });
  worker.onmessage = ({ data }: MessageEvent<HashResult>) => {
    const waiter = waiting.get(data.id);
    waiting.delete(data.id);
    if (waiter) {
      const at = performance.now();
      lastDone = { waitedMs: at - waiter.since, at };
    }
    if (data.ok) waiter?.resolve(Buffer.from(data.key));
    else waiter?.reject(new Error(`Cannot hash the password: ${data.error}`));
    if (waiting.size === 0 && !kept) idleTimer = setTimeout(stopHashing, HASHER_IDLE_MS);
  };
  worker.onerror = (event) => {
    event.preventDefault();
    for (const { reject } of waiting.values()) {
      reject(new Error(`Cannot hash the password: the hashing thread failed: ${event.message}`));
    }
    waiting.clear();
    stopHashing();
  };
  hasher = worker;
  return worker;
}

/**
 * Starts the hashing thread for a server's life and derives two keys, so the thread and its scrypt
 * block are part of the server's memory from its start, not a jump at its first logins. Two: glibc
 * maps the first 16 MiB block and unmaps it when freed, which raises its mmap threshold; from the
 * second hash on the block comes from the thread's heap and stays there, reused (measured: 200
 * more hashes then add nothing).
 */
export async function startHashing(): Promise<void> {
  kept = true;
  for (let i = 0; i < 2; i++) await derive("warm-up", randomBytes(SALT_LENGTH), SCRYPT);
}

/** Stops the hashing thread (it starts again at the next hash); for shutdown and tests. */
export function stopHashing(): void {
  kept = false;
  clearTimeout(idleTimer);
  hasher?.terminate();
  hasher = undefined;
}

function derive(password: string, salt: Buffer, cost: typeof SCRYPT): Promise<Buffer> {
  const id = nextId++;
  const request: HashRequest = {
    id,
    password,
    salt: new Uint8Array(salt),
    cost: { N: cost.N, r: cost.r, p: cost.p },
    keyLength: KEY_LENGTH,
  };
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject, since: performance.now() });
    hashingThread().postMessage(request);
  });
}

/**
 * How long the oldest password hash still waiting was asked for before `now` (`performance.now()`
 * milliseconds), 0 when none waits: a login or registration waits at most this long for its hash.
 * When the hash that finished last did so within `withinMs` and had waited longer, its wait: its
 * client asked before it and has had no answer to speak again after until just now, so a limit on
 * silence grown by this gives that connection its whole limit from the answer.
 */
export function oldestHashWaitMs(withinMs = 0, now: number = performance.now()): number {
  const oldest = waiting.values().next();
  const waited = oldest.done ? 0 : Math.max(0, now - oldest.value.since);
  return now - lastDone.at < withinMs ? Math.max(waited, lastDone.waitedMs) : waited;
}

/** Hashes a password as `scrypt$N$r$p$salt$hash` (salt and hash in base64). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await derive(password, salt, SCRYPT);
  return ["scrypt", SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString("base64"), key.toString("base64")]
    .join("$");
}

/** Checks a password against a stored hash in constant time, with the hash's own parameters. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split("$");
  if (scheme !== "scrypt" || !hash) return false;
  const cost = { N: Number(n), r: Number(r), p: Number(p) };
  if (![cost.N, cost.r, cost.p].every((v) => Number.isSafeInteger(v) && v > 0)) return false;
  if (128 * cost.N * cost.r * cost.p > MAX_SCRYPT_BYTES) return false;
  const expected = Buffer.from(hash, "base64");
  const key = await derive(password, Buffer.from(salt, "base64"), cost);
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** How long a session token resumes a login without the password. */
export const TOKEN_LIFETIME_MS = 30 * 24 * 3600_000;

/** A new random session token (43 characters of base64url). */
export function newToken(): string {
  return randomBytes(32).toString("base64url");
}

/** What the store keeps of a token. */
export function tokenHash(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}
