// What every part of the broker works with: the command registry, the chat services, the state.
// The parts (login, requests) are put together in ../broker.ts.

import type { ChatCore } from "../chat.ts";
import type { SessionCount } from "../cluster/session_count.ts";
import type { Logger } from "../../log.ts";
import type { Outbox } from "../outbox.ts";
import type { Registry } from "../registry.ts";
import type { LoginAccess, Registration } from "../login_access.ts";
import type { Store } from "../store/store.ts";
import type { Limiter, SessionDirectory, Throttle } from "../shared_state.ts";

/** What the broker works with. */
export interface BrokerDeps {
  registry: Registry;
  chat: ChatCore;
  sessions: SessionDirectory;
  store: Store;
  outbox: Outbox;
  log: Logger;
  registration: Registration;
  version: string;
  now: () => number;
  /** Something was queued outside a receive turn: flush soon. */
  requestFlush: () => void;
  /** Failed logins per connection and per account at an address, shared with `/passwd`. */
  throttle: Throttle;
  /** Failed logins per network address. */
  addressThrottle: Throttle;
  /** Accounts registered per network address. */
  registrationLimit: Limiter;
  /**
   * Encrypted servers: the network address of the handshake made with a CURVE client key (Z85), as
   * the gate saw it, or undefined when it saw none. Absent without encryption (no key).
   */
  clientAddress?: (key: string) => string | undefined;
  /**
   * Servers without encryption: the network address of the connection a peer's messages come over
   * (the transport knows its socket), or undefined when it is gone.
   */
  peerAddress?: (peerId: string) => string | undefined;
  /** Commands per account: the flood limit. */
  commandLimit: Limiter;
  /** A session silent this long is ended with `timed_out`. */
  sessionTimeoutMs: number;
  /** In a cluster: the account's sessions on the other nodes, counted against the limit below. */
  sessionCount?: SessionCount;
  /** Most sessions one account may have at once. */
  maxSessionsPerAccount: number;
  /** An async command handler not settled after this long answers `plugin_failed`. */
  handlerTimeoutMs?: number;
  /** Bans, reserved logins, invitations and new-account confirmation at login. */
  access: LoginAccess;
}
