// The login flow: admission (name, shutdown, throttle, session limit), authentication by token or
// password (registering a new account when allowed), then the session, its reply and its catch-up.

import {
  isValidName,
  type LoginData,
  type LoginRequest,
  NAME_RULE,
  nameKey,
  plural,
  PROTOCOL_VERSION,
} from "../../../protocol/mod.ts";
import { MAX_CATCHUP } from "../chat.ts";
import { hex, printable } from "../../log.ts";
export { hex } from "../../log.ts";
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
import { RateLimiter } from "../rate_limit.ts";
import type { BrokerDeps } from "./deps.ts";
import {
  connectionAddress,
  countFailure,
  countSuccess,
  type Refusal,
  refusalLog,
  registrationWait,
  throttleRefusal,
  type Who,
} from "./login_address.ts";

/** Clients are asked to send something this many times per timeout, so one lost ping is survived. */
const PINGS_PER_TIMEOUT = 3;
/**
 * Text characters one catch-up carries at most: within the outbox's budget for one peer in one turn
 * (`PEER_TURN_CHARS`). A longer gap is reported incomplete, and `/history` has the rest.
 */
const CATCHUP_CHARS = 4 * 1024 * 1024;

/**
 * The refusal of a wrong password. On a closed server an unknown login gets the same words, so
 * they name both causes; on an open one an unknown login registers, so only one is possible.
 */
function wrongPassword(name: string, registration: "open" | "closed"): string {
  return registration === "closed"
    ? `Cannot log in as "${name}": wrong password, or no such account (registration is closed)`
    : `Cannot log in as "${name}": wrong password`;
}

/** A hash no password matches, made once: what an unknown login's password is checked against. */
let unknownHash: Promise<string> | undefined;
function unknownAccountHash(): Promise<string> {
  unknownHash ??= hashPassword(crypto.randomUUID());
  return unknownHash;
}

/**
 * Successful logins per account: each tells the account's contacts it came online and may send a
 * catch-up, so an account logging in and out in a loop (a bot gone wrong, or someone flooding its
 * contacts with presence) is held to one a second after a burst. Only its own credentials count.
 */
const LOGINS_PER_ACCOUNT = { burst: 60, perSecond: 1 };
/**
 * Accounts one connection may register: one a minute. An address may register
 * `--registrations-per-minute` (login_address.ts says how a login's address is known).
 */
const REGISTRATIONS_PER_CONNECTION = { burst: 1, perSecond: 1 / 60 };
/** Logins between two prunings of the limiters' idle entries. */
const PRUNE_EVERY = 1000;

/** The login flow's own rate limits (per node in a cluster). */
interface LoginLimits {
  logins: RateLimiter;
  registrations: RateLimiter;
}

/** Logins no account may take: `public` names the public room in `/history`. */
const RESERVED_LOGINS = new Set(["public"]);

/** What the login flow reads of the broker's state as it goes. */
export interface LoginState {
  /** Peers whose connection ended while their login was being checked. */
  readonly cancelled: ReadonlySet<string>;
  /** True once the server began to stop. */
  readonly shuttingDown: boolean;
}

/** Builds the login flow; the returned function answers one login request. */
export function createLogin(
  deps: BrokerDeps,
  state: LoginState,
): (to: Recipient, request: LoginRequest) => Promise<void> {
  const { sessions, store, outbox } = deps;
  const limits: LoginLimits = {
    logins: new RateLimiter(LOGINS_PER_ACCOUNT),
    registrations: new RateLimiter(REGISTRATIONS_PER_CONNECTION),
  };
  const refusals = refusalLog(deps);
  /** Logs a refusal, counts it against the throttles as it says, and answers it. */
  const refuse = (to: Recipient, request: LoginRequest, refusal: Refusal, who?: Who): void => {
    if (who && refusal.counts) countFailure(deps, who);
    refusals.log(to, request, refusal.reason, who);
    outbox.push(
      to,
      encodeReply(request.id, { ok: false, code: refusal.code, message: refusal.message }),
    );
  };
  let calls = 0;
  return async function login(to, request) {
    if (++calls % PRUNE_EVERY === 0) {
      limits.logins.prune(deps.now());
      limits.registrations.prune(deps.now());
      refusals.prune(deps.now());
    }
    const from = connectionAddress(deps, request, to);
    if ("code" in from) return refuse(to, request, from);
    const who: Who = {
      name: request.login,
      key: nameKey(request.login),
      peerKey: "peer:" + to.id,
      ...from,
    };
    const refused = admission(deps, state, who) ?? throttleRefusal(deps, who, request);
    if (refused) return refuse(to, request, refused, who);
    const auth = await authenticate(deps, who, request, limits);
    if ("code" in auth) return refuse(to, request, auth, who);
    const wait = limits.logins.take(who.key, deps.now());
    if (wait > 0) {
      return refuse(to, request, {
        code: "rate_limited",
        message: `Cannot log in as "${who.name}": it logs in too often; retry in ${
          Math.ceil(wait / 1000)
        } s`,
        reason: "login_rate",
      }, who);
    }
    const full = sessionLimit(deps, who, tokenHash(auth.token));
    if (full) return refuse(to, request, full, who);
    if (state.cancelled.has(to.id)) return; // the connection that asked is gone
    // The password check waited: the server may have begun shutting down meanwhile.
    if (state.shuttingDown) return refuse(to, request, SHUTDOWN_REFUSAL, who);
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
      return refuse(to, request, {
        code: "no_such_user",
        message: `Cannot log in as "${who.name}": the account was removed`,
        reason: "removed",
      }, who);
    }
    countSuccess(deps, who);
    startSession(deps, to, request, account, { ...auth, address: who.address });
  };
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
  const { name, key } = who;
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
  return deps.access.barred(key, name);
}

/**
 * The session limit, checked once the caller proved who it is: a stranger learns nothing. In a
 * cluster, with the account's sessions on the other nodes, counted exactly: under a lock on the
 * account held until this turn commits with the claim `startSession` stages, so a login of the
 * account on another node waits and then counts this session (cluster/session_count.ts). A client
 * moving here with its token (`hash`) is not counted twice.
 */
function sessionLimit(deps: BrokerDeps, who: Who, hash: string): Refusal | undefined {
  const here = deps.sessions.of(who.key).length;
  if (
    here < deps.maxSessionsPerAccount &&
    here + (deps.sessionCount?.elsewhere(who.key, hash) ?? 0) < deps.maxSessionsPerAccount
  ) return undefined;
  return {
    code: "limit_reached",
    message: `Cannot log in as "${who.name}": it has ${
      plural(deps.maxSessionsPerAccount, "session")
    }, the most allowed`,
    reason: "too_many_sessions",
  };
}

/** Checks the token or the password, registering a new account when allowed. */
async function authenticate(
  deps: BrokerDeps,
  who: Who,
  request: LoginRequest,
  limits: LoginLimits,
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
      counts: "peer",
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
        message: wrongPassword(name, deps.registration),
        reason: "wrong_password",
        counts: "peer",
      };
    }
  } else {
    const refusal = await register(deps, who, password, request, limits);
    if (refusal) return refusal;
    registered = true;
  }
  const token = newToken();
  store.saveToken(tokenHash(token), key, now(), now() + TOKEN_LIFETIME_MS);
  return { token, registered };
}

/**
 * Creates the account `who` with `password`, when registration is open (or the request has an
 * invitation), the name is not reserved, and the client did not ask to confirm first.
 */
async function register(
  deps: BrokerDeps,
  who: Who,
  password: string,
  request: LoginRequest,
  limits: LoginLimits,
): Promise<Refusal | undefined> {
  const { store, log, now } = deps;
  const { name, key } = who;
  if (deps.registration === "closed" && !deps.access.inviteUsable(request)) {
    // Answered as a wrong password, after as long a check: whether a login exists stays unknown,
    // also to someone trying made-up invitation codes.
    await verifyPassword(password, await unknownAccountHash());
    const invited = request.invite !== undefined;
    return {
      code: "wrong_password",
      message: invited
        ? `${
          wrongPassword(name, "open")
        }, or no such account and the invitation code is unknown, used up or expired`
        : wrongPassword(name, deps.registration),
      reason: invited ? "bad_invite" : "no_such_account",
      counts: "peer",
    };
  }
  const refusal = deps.access.mayRegister(request, key);
  if (refusal) {
    // Counted against the connection, so probing is slowed down too; a client that asked to
    // confirm a new account first is not failing.
    return refusal.code === "new_account" ? refusal : { ...refusal, counts: "peer" };
  }
  const wait = limits.registrations.take(who.peerKey, now());
  if (wait > 0) {
    return {
      code: "rate_limited",
      message: `Cannot register "${name}": this connection registered an account just now; ` +
        `retry in ${Math.ceil(wait / 1000)} s`,
      reason: "registration_rate",
    };
  }
  const fromAddress = registrationWait(deps, who);
  if (fromAddress > 0) {
    return {
      code: "rate_limited",
      message: `Cannot register "${name}": too many accounts registered from this address ` +
        `just now; retry in ${Math.ceil(fromAddress / 1000)} s`,
      reason: "registration_rate",
    };
  }
  const hash = await hashPassword(password);
  if (store.account(key)) {
    return {
      code: "wrong_password",
      message: `Cannot log in as "${name}": the login was just taken`,
      reason: "race",
      counts: "peer",
    };
  }
  if (!deps.access.claimInvite(request, deps.registration)) {
    return {
      code: "bad_invite",
      message: `Cannot register "${name}": the invitation was used up meanwhile`,
      reason: "bad_invite",
      counts: "peer",
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
  auth: { token: string; registered: boolean; address?: string },
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
    tokenHash: tokenHash(auth.token),
  };
  const first = sessions.add(session);
  deps.sessionCount?.started(session);
  store.touchAccount(session.account, now());
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
    address: auth.address, // docs/PROTOCOL.md 3.3
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

/** The oldest messages whose texts fit in `budget` characters, in order. */
function oldestWithin(messages: StoredMessage[], budget: number): StoredMessage[] {
  let used = 0;
  let end = 0;
  while (end < messages.length && used + messages[end].text.length <= budget) {
    used += messages[end++].text.length;
  }
  return end === messages.length ? messages : messages.slice(0, end);
}
