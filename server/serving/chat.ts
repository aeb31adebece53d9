// The chat services plugins call, put together from their parts in chat/: fan-out and presence,
// sends with duplicate suppression, groups, catch-up of sessions, accounts and history.

import { nameKey, type NoticeEvent } from "../../protocol/mod.ts";
import type { ChatServices } from "../../protocol/plugin.ts";
import { createAccountServices } from "./chat/accounts.ts";
import { type Catchup, createCatchup } from "./chat/catchup.ts";
import type { ChatDeps, ChatStats } from "./chat/deps.ts";
import { createFanOut } from "./chat/fan_out.ts";
import { createGroupServices, loadGroups } from "./chat/group_services.ts";
import { readHistory } from "./chat/history.ts";
import { createSends } from "./chat/sends.ts";
import { toEvent } from "./message_event.ts";

export { MAX_CATCHUP } from "./chat/catchup.ts";
export type { ChatDeps, ChatStats } from "./chat/deps.ts";

/** The chat services plus what the broker needs to run sessions. */
export interface ChatCore extends ChatServices, Catchup {
  readonly stats: ChatStats;
  /** Sends a notice to every session. */
  broadcast(text: string): void;
  /** Forgets every group in memory after the identity store was cleared. */
  groupsCleared(): void;
  /** The turn's commit failed: forget what it remembered for duplicate suppression. */
  commitFailed(): void;
}

/** Builds the chat services over their state, store and outbox; loads the groups from the store. */
export function createChatCore(deps: ChatDeps): ChatCore {
  const stats: ChatStats = { messages: 0, deliveries: 0 };
  loadGroups(deps.store, deps.groups);
  const fanOut = createFanOut(deps, stats);
  const accounts = createAccountServices(deps);
  const sends = createSends(deps, { fanOut, stats, accountLogin: accounts.account });
  return {
    stats,
    ...sends,
    ...createGroupServices(deps, fanOut),
    ...createCatchup(deps, fanOut),
    ...accounts,
    broadcast: fanOut.broadcast,
    online: () => deps.sessions.online(),
    notify(login, text) {
      const event: NoticeEvent = { type: "notice", text, ts: deps.now() };
      fanOut.pushToAccount(nameKey(login), JSON.stringify(event));
    },
    history(caller, target, query) {
      return readHistory(deps, accounts.account, { caller, target, query })
        .map((m) => toEvent(m, { history: true }));
    },
  };
}
