// The login flow: admission (name, shutdown, throttle, session limit), authentication by token or
// password (registering a new account when allowed), then the session, its reply and its catch-up.

import {
  type ErrorCode,
  isValidName,
  type LoginData,
  type LoginRequest,
  NAME_RULE,
  nameKey,
  PROTOCOL_VERSION,
} from "../../../protocol/mod.ts";
import { MAX_CATCHUP } from "../chat.ts";
import { printable } from "../../log.ts";
import type { Recipient } from "../peer_transport.ts";
import {
  hashPassword,
  newToken,
  TOKEN_LIFETIME_MS,
  tokenHash,
  verifyPassword,
} from "../passwords.ts";
import { encodeReply } from "../reply.ts";
import type { Session } from "../sessions.ts";
import type { StoredMessage } from "../store/store.ts";
import type { BrokerDeps } from "./deps.ts";

/** Clients are asked to send something this many times per timeout, so one lost ping is survived. */
const PINGS_PER_TIMEOUT = 3;
/**
 * Text characters one catch-up carries at most: within the outbox's budget for one peer in one turn
 * (`PEER_TURN_CHARS`). A longer gap is reported incomplete, and `/history` has the rest.
 */
const CATCHUP_CHARS = 4 * 1024 * 1024;

/** Logins no account may take: `public` names the public room in `/history`. */
const RESERVED_LOGINS = new Set(["public"]);

/**
 * Why a login is refused: the error the client gets, the reason logged, and whom the failure is
 * counted against by the login throttle (a wrong password counts against the login and the
 * connection, probing a closed server against the connection only).
 */
interface Refusal {
  code: ErrorCode;
  message: string;
  reason: string;
  counts?: "login_and_peer" | "peer";
}

/** What the login flow reads of the broker's state as it goes. */
export interface LoginState {
  /** Peers whose connection ended while their login was being checked. */
  readonly cancelled: ReadonlySet<string>;
  /** True once the server began to stop. */
  readonly shuttingDown: boolean;
}

/** A login's identity as the flow checks it: the name as given, its key, the throttle's peer key. */
interface Who {
  name: string;
  key: string;
  peerKey: string;
}

/** Builds the login flow; the returned function answers one login request. */
export function createLogin(
  deps: BrokerDeps,
  state: LoginState,
): (to: Recipient, request: LoginRequest) => Promise<void> {
  const { sessions, store, outbox, throttle } = deps;
  return async function login(to, request) {
    const who: Who = { name: request.login, key: nameKey(request.login), peerKey: "peer:" + to.id };
    const refused = admission(deps, state, who);
    if (refused) return refuse(deps, to, request, refused, who);
    const auth = await authenticate(deps, who, request);
    if ("code" in auth) return refuse(deps, to, request, auth, who);
    if (state.cancelled.has(to.id)) return; // the connection that asked is gone
    // The password check waited: the server may have begun shutting down meanwhile.
    if (state.shuttingDown) return refuse(deps, to, request, SHUTDOWN_REFUSAL, who);
    if (sessions.get(to.id)) {
      outbox.push(
        to,
        encodeReply(request.id, {
          ok: false,
          code: "already_logged_in",
          message: "Cannot log in: this connection logged in meanwhile",
        }),
      );
      return;
    }
    const account = store.account(who.key);
    if (!account) {
      return refuse(deps, to, request, {
        code: "no_such_user",
        message: `Cannot log in as "${who.name}": the account was removed`,
        reason: "removed",
      }, who);
    }
    throttle.succeed(who.key);
    throttle.succeed(who.peerKey);
    startSession(deps, to, request, account, auth);
  };
}

/** Logs a refusal, counts it against the throttle as it says, and answers it. */
function refuse(
  deps: BrokerDeps,
  to: Recipient,
  request: LoginRequest,
  refusal: Refusal,
  who?: Who,
): void {
  const { outbox, log, now, throttle } = deps;
  if (who && refusal.counts === "login_and_peer") throttle.fail(who.key, now());
  if (who && refusal.counts) throttle.fail(who.peerKey, now());
  log.warn("login_refused", {
    login: request.login.slice(0, 40),
    peer: hex(to.peer),
    reason: refusal.reason,
  });
  outbox.push(
    to,
    encodeReply(request.id, { ok: false, code: refusal.code, message: refusal.message }),
  );
}

/** The refusal while the server stops. */
const SHUTDOWN_REFUSAL: Refusal = {
  code: "server_shutdown",
  message: "Cannot log in: the server is shutting down",
  reason: "shutdown",
};

/** The checks that need no password: a refusal, or undefined to go on. */
function admission(
  deps: BrokerDeps,
  state: LoginState,
  who: Who,
): Refusal | undefined {
  const { sessions, now, throttle } = deps;
  const { name, key, peerKey } = who;
  if (!isValidName(name)) {
    return {
      code: "invalid_name",
      message: `Cannot log in as "${name.slice(0, 40)}": logins are ${NAME_RULE}`,
      reason: "invalid_name",
    };
  }
  if (state.shuttingDown) return SHUTDOWN_REFUSAL;
  if (RESERVED_LOGINS.has(key)) {
    return {
      code: "invalid_name",
      message: `Cannot log in as "${name}": the name is reserved`,
      reason: "reserved",
    };
  }
  const wait = Math.max(throttle.waitFor(key, now()), throttle.waitFor(peerKey, now()));
  if (wait > 0) {
    return {
      code: "login_throttled",
      message: `Cannot log in as "${name}": too many failed attempts; retry in ${
        Math.ceil(wait / 1000)
      } s`,
      reason: "throttled",
    };
  }
  if (sessions.of(key).length >= deps.maxSessionsPerAccount) {
    return {
      code: "limit_reached",
      message:
        `Cannot log in as "${name}": it has ${deps.maxSessionsPerAccount} sessions, the most allowed`,
      reason: "too_many_sessions",
    };
  }
  return undefined;
}

/** Checks the token or the password, registering a new account when allowed. */
async function authenticate(
  deps: BrokerDeps,
  who: Who,
  request: LoginRequest,
): Promise<Refusal | { token: string; registered: boolean }> {
  const { store, now } = deps;
  const { name, key } = who;
  if (request.token !== undefined) {
    if (store.tokenAccount(tokenHash(request.token), now()) === key) {
      return { token: request.token, registered: false };
    }
    return {
      code: "wrong_password",
      message: `Cannot log in as "${name}": the session token is not valid`,
      reason: "bad_token",
      counts: "login_and_peer",
    };
  }
  const password = request.password ?? "";
  if (password.length === 0) {
    return {
      code: "bad_password",
      message: `Cannot log in as "${name}": a password is required`,
      reason: "no_password",
    };
  }
  const account = store.account(key);
  let registered = false;
  if (account) {
    if (!(await verifyPassword(password, account.password))) {
      return {
        code: "wrong_password",
        message: `Cannot log in as "${name}": wrong password`,
        reason: "wrong_password",
        counts: "login_and_peer",
      };
    }
  } else {
    const refusal = await register(deps, who, password);
    if (refusal) return refusal;
    registered = true;
  }
  const token = newToken();
  store.saveToken(tokenHash(token), key, now(), now() + TOKEN_LIFETIME_MS);
  return { token, registered };
}

/** Creates the account `who` with `password`, when registration is open and the name still free. */
async function register(
  deps: BrokerDeps,
  who: Who,
  password: string,
): Promise<Refusal | undefined> {
  const { store, log, now } = deps;
  const { name, key } = who;
  if (deps.registration === "closed") {
    return {
      code: "registration_closed",
      message: `Cannot log in as "${name}": no such account and registration is closed`,
      reason: "registration_closed",
      // Counted against the connection, so probing which logins exist is slowed down too.
      counts: "peer",
    };
  }
  const hash = await hashPassword(password);
  if (store.account(key)) {
    return {
      code: "wrong_password",
      message: `Cannot log in as "${name}": the login was just taken`,
      reason: "race",
      counts: "login_and_peer",
    };
  }
  store.createAccount({ key, login: name, password: hash, created: now() });
  log.info("register", { login: name });
  return undefined;
}

/** Binds the session to the connection, answers the login and starts the catch-up. */
function startSession(
  deps: BrokerDeps,
  to: Recipient,
  request: LoginRequest,
  account: { key: string; login: string },
  auth: { token: string; registered: boolean },
): void {
  const { registry, chat, sessions, store, outbox, log, now } = deps;
  const found: StoredMessage[] = request.resume === undefined
    ? []
    : chat.missedBy(account.key, request.resume);
  const missed = oldestWithin(found.slice(0, MAX_CATCHUP), CATCHUP_CHARS);
  const session: Session = {
    id: to.id,
    peer: to.peer,
    account: account.key,
    login: account.login,
    since: now(),
    lastSeen: now(),
    // Shown on the operator's terminal: no control characters get there.
    client: printable((request.client ?? "").slice(0, 64)),
    host: printable((request.host ?? "").slice(0, 64)),
    ...(request.echo ? { echo: true } : {}),
  };
  const first = sessions.add(session);
  const data: Omit<LoginData, "catalog"> = {
    login: account.login,
    registered: auth.registered,
    token: auth.token,
    server: { name: "chatz", version: deps.version, protocol: PROTOCOL_VERSION },
    pingIntervalMs: Math.floor(deps.sessionTimeoutMs / PINGS_PER_TIMEOUT),
    cursor: store.lastMessageId,
    catchup: {
      count: missed.length,
      complete: missed.length === found.length,
    },
  };
  const text = `Logged in as ${account.login}`;
  outbox.push(to, encodeLoginReply(request.id, text, data, registry.catalogJson()));
  chat.sessionStarted(session, first, missed);
  log.info("login", {
    login: account.login,
    session: hex(to.peer),
    host: session.host,
    client: session.client,
    resumed: request.token !== undefined,
  });
}

/**
 * The login reply. The catalog, the same for every login and the bulk of the reply, is spliced in
 * as encoded once by the registry; the result parses to the `Reply` with the full `LoginData`.
 */
export function encodeLoginReply(
  id: number,
  text: string,
  data: Omit<LoginData, "catalog">,
  catalogJson: string,
): string {
  const head = JSON.stringify({ re: id, ok: true, text, data }); // ends with the two closing braces
  return `${head.slice(0, -2)},"catalog":${catalogJson}}}`;
}

/** A routing id in hex, for logs. */
export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The oldest messages whose texts fit in `budget` characters, in order. */
function oldestWithin(messages: StoredMessage[], budget: number): StoredMessage[] {
  let used = 0;
  let end = 0;
  while (end < messages.length && used + messages[end].text.length <= budget) {
    used += messages[end++].text.length;
  }
  return end === messages.length ? messages : messages.slice(0, end);
}
