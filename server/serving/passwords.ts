// Password hashing with scrypt from node:crypto: salted, slow, parameters kept with each hash.
// Also session tokens: random, stored only as their SHA-256, so a stolen database cannot log anyone in.

import { createHash, randomBytes, scrypt, timingSafeEqual } from "node:crypto";

/** scrypt cost: N=2^14, r=8 takes about 50 ms here and 16 MiB of memory; raise N as machines grow. */
const SCRYPT = { N: 16384, r: 8, p: 1 };
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

/**
 * Hashes running at once. Each takes 16 MiB and one of Deno's blocking threads, which the socket
 * loops also wait on: a burst of password logins must neither balloon memory nor stall sockets.
 */
const MAX_CONCURRENT_HASHES = 4;
let running = 0;
const queued: (() => void)[] = [];

async function derive(password: string, salt: Buffer, cost: typeof SCRYPT): Promise<Buffer> {
  if (running >= MAX_CONCURRENT_HASHES) await new Promise<void>((start) => queued.push(start));
  running++;
  try {
    return await new Promise((resolve, reject) => {
      scrypt(
        password,
        salt,
        KEY_LENGTH,
        { ...cost, maxmem: 256 * cost.N * cost.r },
        (error, key) => {
          if (error) reject(error);
          else resolve(key);
        },
      );
    });
  } finally {
    running--;
    queued.shift()?.();
  }
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
  const expected = Buffer.from(hash, "base64");
  const key = await derive(password, Buffer.from(salt, "base64"), {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
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
