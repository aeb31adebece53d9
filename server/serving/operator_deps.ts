// What the operator services (operator_services.ts) and the ban services (ban_services.ts) both
// work with: their dependencies, the time format operators read, and the login check they share.

import { type ErrorCode, isValidName, NAME_RULE, nameKey } from "../../protocol/mod.ts";
import { ChatError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { BanList } from "./bans.ts";
import type { ChatCore } from "./chat.ts";
import type { DeletedLoginTable } from "./deleted_logins.ts";
import type { SessionDirectory } from "./shared_state.ts";
import type { Store } from "./store/store.ts";

/** What the operator services work with. */
export interface OperatorServicesDeps {
  store: Store;
  sessions: SessionDirectory;
  chat: ChatCore;
  bans: BanList;
  deletedLogins: DeletedLoginTable;
  log: Logger;
  now: () => number;
  /** Ends every session of an account with a `bye`; returns how many. */
  endSessions(account: string, code: ErrorCode, message: string, reason: string): number;
  /**
   * Closes this node's open chat connections whose peer address `matches`; how many. Absent where
   * connections cannot be listed (unit tests).
   */
  closeConnections?(matches: (address: string) => boolean): number;
  /** How long a deleted login stays reserved. */
  reserveMs(): number;
}

/** A time as operators read it: `2026-12-03 09:15Z`. */
export function iso(ts: number): string {
  return new Date(ts).toISOString().replace("T", " ").slice(0, 16) + "Z";
}

/** The account key of `login`, or `invalid_name` saying what `action` could not do. */
export function requireLogin(login: string, action: string): string {
  if (!isValidName(login)) {
    throw new ChatError(
      "invalid_name",
      `Cannot ${action} "${login.slice(0, 40)}": logins are ${NAME_RULE}`,
    );
  }
  return nameKey(login);
}
