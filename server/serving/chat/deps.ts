// What every part of the chat services works with: the serving state, the store and the outbox.
// The parts (fan_out, sends, group_services, catchup, accounts, history) are put together in ../chat.ts.

import type { DeliverHook, UserServices } from "../../../protocol/plugin.ts";
import type { Actor } from "../bound_services.ts";
import type { DeletedLoginTable } from "../deleted_logins.ts";
import type { Logger } from "../../log.ts";
import type { Outbox } from "../outbox.ts";
import type { DuplicateIds, GroupDirectory, SessionDirectory, Throttle } from "../shared_state.ts";
import type { Store } from "../store/store.ts";
import type { ClusterLink } from "../cluster/link.ts";
import type { EventBus } from "../plugin_events.ts";

/** What the chat services work with. */
export interface ChatDeps {
  store: Store;
  sessions: SessionDirectory;
  groups: GroupDirectory;
  /** What recent sends with a client id returned: re-sends are answered from it. */
  duplicates: DuplicateIds;
  outbox: Outbox;
  hooks: DeliverHook[];
  log: Logger;
  now: () => number;
  /** Shared with logins: wrong current passwords in `/passwd` count as failed logins. */
  throttle: Throttle;
  /** Most groups one account may belong to. */
  maxGroupsPerUser: number;
  /** Most direct messages kept for one offline account; past it sends to it are refused. */
  maxWaitingPerAccount: number;
  /** Plugins' event handlers (a new bus when not given). */
  events?: EventBus;
  /** The other nodes of a cluster; absent for a server on its own. */
  cluster?: ClusterLink;
  /** Deleted logins: history marks their old messages `fromDeleted`. */
  deletedLogins: DeletedLoginTable;
}

/** What the parts work with: the deps with the event bus settled. */
export type PartDeps = ChatDeps & {
  events: EventBus;
  /** Services bound to the user an event is about, for its handlers. */
  userOf(actor: Actor): UserServices;
};

/** Counters the operator's status shows. */
export interface ChatStats {
  /** Chat messages stored and fanned out. */
  messages: number;
  /** Events queued for sessions: messages, presence, group events, notices and history replays. */
  deliveries: number;
  /** Chat message events queued for sessions, by the message's scope (for the metrics). */
  delivered: { public: number; direct: number; group: number };
}
