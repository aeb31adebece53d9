// Accounts as the chat services see them: who exists under which login, and password changes.
// A password change checks the current one under the login throttle and keeps only the caller's session.

import { nameKey } from "../../../protocol/mod.ts";
import type { CoreServices } from "../bound_services.ts";
import { ChatError } from "../../errors.ts";
import {
  hashPassword,
  newToken,
  TOKEN_LIFETIME_MS,
  tokenHash,
  verifyPassword,
} from "../passwords.ts";
import type { ChatDeps } from "./deps.ts";

/** The account services. */
export type AccountServices = Pick<CoreServices, "account" | "changePassword">;

/** Builds the account services over the sessions (for logins online) and the store. */
export function createAccountServices(deps: ChatDeps): AccountServices {
  const { store, sessions, log, now, throttle } = deps;
  return {
    account(login) {
      const key = nameKey(login);
      return sessions.of(key)[0]?.login ?? deps.cluster?.loginOf(key) ??
        store.account(key)?.login;
    },

    async changePassword(caller, current, next) {
      const key = nameKey(caller.login);
      const wait = throttle.waitFor(key, now());
      if (wait > 0) {
        throw new ChatError(
          "login_throttled",
          `Cannot change password: too many wrong passwords; retry in ${Math.ceil(wait / 1000)} s`,
        );
      }
      const account = store.account(key);
      if (!account) {
        throw new ChatError(
          "no_such_user",
          `Cannot change password of "${caller.login}": no such account`,
        );
      }
      if (!(await verifyPassword(current, account.password))) {
        throttle.fail(key, now());
        log.warn("passwd_refused", { login: caller.login });
        throw new ChatError(
          "wrong_password",
          "Cannot change password: the current password is wrong",
        );
      }
      if (next.length === 0) {
        throw new ChatError("bad_password", "Cannot change password: the new password is empty");
      }
      throttle.succeed(key);
      store.setPassword(key, await hashPassword(next));
      store.dropTokens(key);
      // Every other session must log in again; the one that changed the password goes on.
      const token = newToken();
      store.saveToken(tokenHash(token), key, now(), now() + TOKEN_LIFETIME_MS);
      const own = sessions.get(caller.session);
      if (own?.account === key) own.passwdTokenHash = tokenHash(token);
      log.info("passwd", { login: caller.login });
      return token;
    },
  };
}
