// The chat services plugins call, put together from their parts in chat/: fan-out and presence,
// sends with duplicate suppression, groups, catch-up of sessions, accounts and history.

import { nameKey, type NoticeEvent } from "../../protocol/mod.ts";
import type { Caller, ChatServices, OnlineUser } from "../../protocol/plugin.ts";
import type { RemoteTarget } from "./cluster/link.ts";
import { type Actor, bindCaller, BoundUserServices, type CoreServices } from "./bound_services.ts";
import { createAccountServices } from "./chat/accounts.ts";
import { type Catchup, createCatchup } from "./chat/catchup.ts";
import type { ChatDeps, ChatStats, PartDeps } from "./chat/deps.ts";
import { createFanOut } from "./chat/fan_out.ts";
import { createGroupModeration } from "./chat/group_moderation.ts";
import { createGroupServices, loadGroups } from "./chat/group_services.ts";
import { ChatError } from "../errors.ts";
import { readHistory } from "./chat/history.ts";
import { createSends } from "./chat/sends.ts";
import { encodeMessage, toEvent } from "./message_event.ts";
import { EventBus } from "./plugin_events.ts";

export { MAX_CATCHUP } from "./chat/catchup.ts";
export type { ChatDeps, ChatStats } from "./chat/deps.ts";

/** Most messages `showHistory` pushes at once, as many as `/history` answers at most. */
const MAX_SHOWN_HISTORY = 500;

/** The chat services plus what the broker needs to run sessions. */
export interface ChatCore extends CoreServices, Catchup {
  readonly stats: ChatStats;
  /** Plugins' event handlers; the parts emit login, logout, group and message events to them. */
  readonly events: EventBus;
  /** Services for a command's caller, acting as the caller with the command's client id. */
  bind(caller: Caller, cid?: string): ChatServices;
  /** Forgets every group in memory after the identity store was cleared. */
  groupsCleared(): void;
  /** The turn's commit failed: forget what it remembered of the turn, read groups back. */
  commitFailed(): void;
  /** What other nodes of a cluster ask of this node's sessions. */
  readonly fromCluster: {
    /** Delivers another node's event to this node's sessions of `target`. */
    apply(target: RemoteTarget, encoded: string): void;
    /** Another node changed groups: reads them again from the store. */
    reloadGroups(): void;
    /** An account online only on a node that died: its contacts here see it go offline. */
    wentOffline(user: { account: string; login: string }): void;
  };
  /** Set by the server once its operator services exist (they need the broker). */
  moderation: Moderation;
}

/** What operators do from a chat client, acting as themselves (see ChatServices.operatorKick). */
export interface Moderation {
  kick(by: Actor, login: string, reason: string): number;
  ban(by: Actor, target: string, options: { durationMs?: number; reason: string }): string;
  unban(by: Actor, target: string): void;
  broadcast(by: Actor, text: string): void;
}

/** Moderation before the server attached its own (the plugin test bench): nobody may. */
const NO_MODERATION: Moderation = {
  kick: refuseModeration,
  ban: refuseModeration,
  unban: refuseModeration,
  broadcast: refuseModeration,
};

function refuseModeration(): never {
  throw new ChatError("forbidden", "Cannot moderate: this server has no operator services");
}

/** Builds the chat services over their state, store and outbox; loads the groups from the store. */
export function createChatCore(chatDeps: ChatDeps): ChatCore {
  const stats: ChatStats = {
    messages: 0,
    deliveries: 0,
    delivered: { public: 0, direct: 0, group: 0 },
  };
  const deps: PartDeps = {
    ...chatDeps,
    events: chatDeps.events ?? new EventBus(chatDeps.log),
    userOf: (actor: Actor) => new BoundUserServices(core, actor),
  };
  loadGroups(deps.store, deps.groups);
  const fanOut = createFanOut(deps, stats);
  /** This node's sessions only: for deliveries that came from another node. */
  const localFanOut = createFanOut({ ...deps, cluster: undefined }, stats);
  const accounts = createAccountServices(deps);
  const sends = createSends(deps, { fanOut, stats, accountLogin: accounts.account });
  const history = (caller: Actor, target: Parameters<ChatCore["history"]>[1], query: {
    before?: number;
    limit: number;
  }) => readHistory(deps, accounts.account, { caller, target, query });
  const core: ChatCore = {
    stats,
    events: deps.events,
    bind: (caller, cid) => bindCaller(core, caller, cid),
    ...sends,
    commitFailed() {
      sends.commitFailed();
      // Groups made, joined or left in the failed turn exist only in memory: the store decides.
      deps.groups.clear();
      loadGroups(deps.store, deps.groups);
    },
    ...createGroupServices(deps, fanOut),
    ...createGroupModeration(deps, fanOut),
    moderation: NO_MODERATION,
    operatorKick: (by, login, reason) => core.moderation.kick(by, login, reason),
    operatorBan: (by, target, options) => core.moderation.ban(by, target, options),
    operatorUnban: (by, target) => core.moderation.unban(by, target),
    operatorBroadcast: (by, text) => core.moderation.broadcast(by, text),
    ...createCatchup(deps, fanOut),
    ...accounts,
    broadcast: fanOut.broadcast,
    online: () => withRemote(deps.sessions.online(), deps.cluster?.online() ?? []),
    fromCluster: {
      apply(target, encoded) {
        if (target.kind === "everyone") localFanOut.pushAll(deps.sessions.all(), encoded);
        else if (target.kind === "account") localFanOut.pushToAccount(target.account, encoded);
        else {
          const group = deps.groups.get(target.group);
          if (group) localFanOut.pushToMembers(group, encoded);
        }
      },
      reloadGroups() {
        deps.groups.clear();
        loadGroups(deps.store, deps.groups);
      },
      wentOffline(user) {
        localFanOut.pushPresence(user, "offline");
      },
    },
    notify(login, text) {
      const event: NoticeEvent = { type: "notice", text, ts: deps.now() };
      fanOut.pushToAccount(nameKey(login), JSON.stringify(event));
    },
    tell(to, text) {
      const event = JSON.stringify({ type: "notice", text, ts: deps.now() } as NoticeEvent);
      const session = deps.sessions.get(to.session);
      if (session) fanOut.push(session, event);
      else fanOut.pushToAccount(nameKey(to.login), event);
    },
    history(caller, target, query) {
      return history(caller, target, query).map((m) =>
        toEvent(m, { history: true, fromDeleted: deps.deletedLogins.authorDeleted(m.from, m.id) })
      );
    },
    showHistory(caller, target, query) {
      const limit = Math.max(0, Math.min(MAX_SHOWN_HISTORY, Math.floor(query.limit)));
      const found = history(caller, target, { before: query.before, limit });
      const session = deps.sessions.get(caller.session);
      if (!session) return 0;
      for (const message of found) {
        const fromDeleted = deps.deletedLogins.authorDeleted(message.from, message.id);
        fanOut.push(session, encodeMessage(message, { history: true, fromDeleted }));
      }
      return found.length;
    },
  };
  return core;
}

/** This node's online accounts with the other nodes', one entry per account. */
function withRemote(local: OnlineUser[], remote: OnlineUser[]): OnlineUser[] {
  if (remote.length === 0) return local;
  const byLogin = new Map(local.map((u) => [nameKey(u.login), { ...u }]));
  for (const user of remote) {
    const seen = byLogin.get(nameKey(user.login));
    if (!seen) byLogin.set(nameKey(user.login), { ...user });
    else {
      seen.sessions += user.sessions;
      seen.since = Math.min(seen.since, user.since);
    }
  }
  return [...byLogin.values()].sort((a, b) => a.login.localeCompare(b.login));
}
