// Deleted logins in memory: which are still reserved, and which old messages were a deleted holder's.
// Pure state over the store's rows; history marks those messages so no new holder of the name is shown as their author.

import { nameKey } from "../../protocol/mod.ts";
import type { DeletedLogin } from "./store/store.ts";

/** The default time a deleted login stays reserved: no new account may take it meanwhile. */
export const DEFAULT_RESERVE_DAYS = 30;

/** Deleted logins by key, in deletion order. */
export class DeletedLoginTable {
  readonly #byKey = new Map<string, DeletedLogin[]>();

  constructor(rows: Iterable<DeletedLogin> = []) {
    for (const row of rows) this.add(row);
  }

  /** Takes the store's rows again: another node of a cluster may have deleted accounts since. */
  reload(rows: Iterable<DeletedLogin>): void {
    this.#byKey.clear();
    for (const row of rows) this.add(row);
  }

  add(row: DeletedLogin): void {
    const list = this.#byKey.get(row.key);
    if (list) list.push(row);
    else this.#byKey.set(row.key, [row]);
  }

  /** The deletion that still reserves a login key at `now`, if any. */
  reservation(key: string, now: number): DeletedLogin | undefined {
    return this.#byKey.get(key)?.findLast((row) => row.reservedUntil > now);
  }

  /**
   * Whether message `id` sent as `from` was written by an account deleted since: a message up to
   * the last id given when some holder of that login was deleted.
   */
  authorDeleted(from: string, id: number): boolean {
    if (this.#byKey.size === 0) return false;
    const rows = this.#byKey.get(nameKey(from));
    return rows !== undefined && rows.some((row) => id <= row.lastMessageId);
  }
}
