// Who may log in and who may register: bans, reserved logins of deleted accounts, closed
// registration with invitations, and the client's wish to confirm a new account first.

import type { ErrorCode, LoginRequest } from "../../protocol/mod.ts";
import type { BanList } from "./bans.ts";
import type { DeletedLoginTable } from "./deleted_logins.ts";
import { inviteHash } from "./operator_services.ts";
import type { Store } from "./store/store.ts";

/** Whether new logins register themselves. */
export type Registration = "open" | "closed";

/** Why a login is refused: the error code, the sentence, and the reason for the log. */
export interface Refusal {
  code: ErrorCode;
  message: string;
  reason: string;
}

/** The checks the broker makes at login. */
export interface LoginAccess {
  /** A refusal when the account may not log in at all: it is banned. */
  barred(key: string, name: string): Refusal | undefined;
  /** Whether the request carries an invitation that can still be used. */
  inviteUsable(request: LoginRequest): boolean;
  /**
   * A refusal when `name`, which has no account, may not register now (registration open, or an
   * invitation usable): the login is reserved, or the client asked to confirm first.
   */
  mayRegister(request: LoginRequest, key: string): Refusal | undefined;
  /** Uses the request's invitation when registration is closed; false when it no longer works. */
  claimInvite(request: LoginRequest, registration: Registration): boolean;
}

/** Builds the login checks over the ban list, the deleted logins and the store. */
export function createLoginAccess(
  deps: { bans: BanList; deletedLogins: DeletedLoginTable; store: Store; now: () => number },
): LoginAccess {
  const { bans, deletedLogins, store, now } = deps;
  return {
    barred(key, name) {
      const ban = bans.login(key, now());
      if (!ban) return undefined;
      const until = ban.expires === undefined ? "until lifted" : `until ${iso(ban.expires)}`;
      return {
        code: "banned",
        message: `Cannot log in as "${name}": banned ${until}${
          ban.reason ? `: ${ban.reason}` : ""
        }`,
        reason: "banned",
      };
    },

    inviteUsable(request) {
      if (request.invite === undefined) return false;
      const hash = inviteHash(request.invite);
      return store.invites(now()).some((i) => i.hash === hash);
    },

    mayRegister(request, key) {
      const name = request.login;
      // Read again: in a cluster another node may have deleted this login (registration is rare,
      // and the table is small).
      deletedLogins.reload(store.deletedLogins());
      const reserved = deletedLogins.reservation(key, now());
      if (reserved) {
        return {
          code: "name_reserved",
          message: `Cannot register "${name}": the login of a deleted account, reserved until ${
            iso(reserved.reservedUntil)
          }`,
          reason: "reserved",
        };
      }
      if (request.register === false) {
        return {
          code: "new_account",
          message: `Cannot log in as "${name}": no such account; confirm to register it`,
          reason: "new_account",
        };
      }
      return undefined;
    },

    claimInvite(request, registration) {
      if (registration === "open") return true;
      return request.invite !== undefined && store.useInvite(inviteHash(request.invite), now());
    },
  };
}

function iso(ts: number): string {
  return new Date(ts).toISOString().replace("T", " ").slice(0, 16) + "Z";
}
