// One server per data folder: an exclusive advisory lock on DATA/chatz.lock, held for the process's life.
// The kernel drops it when the process ends, however it ends, so a crash leaves nothing stale behind.

import { join } from "node:path";

/** The open lock files: closing one would release its lock, so they stay open until exit. */
const held: Deno.FsFile[] = [];

/**
 * Takes the data folder's lock without waiting (`FsFile.tryLockSync`, flock(2) on Linux). Returns
 * true when this process now holds it (until it exits), false when another process does; throws
 * when the lock file cannot be created.
 */
export function lockDataFolder(dataDir: string): boolean {
  const path = join(dataDir, "chatz.lock");
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true, write: true, create: true, mode: 0o600 });
  } catch (error) {
    throw new Error(`Cannot create the lock file "${path}": ${(error as Error).message}`);
  }
  if (!file.tryLockSync(true)) {
    file.close();
    return false;
  }
  held.push(file);
  return true;
}
