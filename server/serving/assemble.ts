// Assembles the serving parts over a store: sessions, outbox, command registry and chat services.
// The server and the plugin bench build it the same way, so a plugin behaves in tests as it will live.

import type { DeliverHook } from "../../protocol/plugin.ts";
import { type ChatCore, createChatCore } from "./chat.ts";
import { DeletedLoginTable } from "./deleted_logins.ts";
import type { Logger } from "../log.ts";
import { Outbox } from "./outbox.ts";
import { Registry } from "./registry.ts";
import { createLocalState } from "./local_state.ts";
import type { SessionDirectory, SharedState, Throttle } from "./shared_state.ts";
import type { Store } from "./store/store.ts";
import type { ClusterLink } from "./cluster/link.ts";

/** What serves chat over a store: the state, the outbox, the command table, the chat services. */
export interface ServingParts {
  sessions: SessionDirectory;
  outbox: Outbox;
  hooks: DeliverHook[];
  registry: Registry;
  throttle: Throttle;
  chat: ChatCore;
  /** Deleted logins (reservations, authors of old messages), loaded from the store. */
  deletedLogins: DeletedLoginTable;
}

/** Builds the serving parts over `store`; plugins are set up on its registry and hooks afterwards. */
export function assembleServing(
  store: Store,
  options: {
    log: Logger;
    now: () => number;
    maxGroupsPerUser: number;
    maxWaitingPerAccount: number;
    /** The state shared with other server processes; in this process alone when not given. */
    state?: SharedState;
    cluster?: ClusterLink;
  },
): ServingParts {
  const state = options.state ?? createLocalState();
  const { sessions, loginThrottle: throttle } = state;
  const outbox = new Outbox();
  const hooks: DeliverHook[] = [];
  const deletedLogins = new DeletedLoginTable(store.deletedLogins());
  const chat = createChatCore({
    deletedLogins,
    store,
    sessions,
    groups: state.groups,
    duplicates: state.duplicates,
    outbox,
    hooks,
    log: options.log,
    now: options.now,
    throttle,
    cluster: options.cluster,
    // Read at each check, so a reloaded limit applies at once.
    get maxGroupsPerUser() {
      return options.maxGroupsPerUser;
    },
    get maxWaitingPerAccount() {
      return options.maxWaitingPerAccount;
    },
  });
  return { sessions, outbox, hooks, registry: new Registry(), throttle, chat, deletedLogins };
}
