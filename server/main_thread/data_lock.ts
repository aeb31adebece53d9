// One server per data folder: an exclusive flock(2) on DATA/chatz.lock, held for the process's life.
// The kernel drops it when the process ends, however it ends, so a crash leaves nothing stale behind.

import { join } from "node:path";

const LOCK_EX = 2;
const LOCK_NB = 4;

const SYMBOLS = {
  // creat(2), not open(2): open is variadic, which FFI cannot call portably.
  creat: { parameters: ["buffer", "u32"], result: "i32" },
  flock: { parameters: ["i32", "i32"], result: "i32" },
} as const;

/**
 * Takes the data folder's lock without waiting. Returns true when this process now holds it (until
 * it exits), false when another process does; throws when the lock file cannot be created.
 */
export function lockDataFolder(dataDir: string): boolean {
  const libc = Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  const path = join(dataDir, "chatz.lock");
  const fd = libc.creat(new TextEncoder().encode(path + "\0"), 0o600);
  if (fd < 0) throw new Error(`Cannot create the lock file "${path}"`);
  // The descriptor stays open on purpose: closing it would release the lock.
  return libc.flock(fd, LOCK_EX | LOCK_NB) === 0;
}
