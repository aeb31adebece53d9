// This node's side of a cluster: joins the bus, relays through it, and catches this node's
// sessions up from the store whatever the bus lost on the way here (an outage, a gap, a dead node).

import type { Logger } from "../../log.ts";
import type { ChatCore } from "../chat.ts";
import { MAX_CATCHUP } from "../chat/catchup.ts";
import { seedDuplicates } from "../chat/sends.ts";
import { type DuplicateIds, parseSendKey, type SessionDirectory } from "../shared_state.ts";
import type { Store } from "../store/store.ts";
import type { SessionClaims } from "../store/postgres_claims.ts";
import type { Turns } from "../turns.ts";
import { connectNatsBus } from "./nats_bus.ts";
import { type ControlAction, type Relay, startRelay } from "./relay.ts";
import { type SessionCount, startSessionCount } from "./session_count.ts";

/** What a node joining the cluster works with from the start. */
export interface ClusterNodeDeps {
  log: Logger;
  now: () => number;
  store: Store;
  turns: Pick<Turns, "requestFlush">;
  /** The session claims of this node, by its name (the store's: `PostgresStore.sessionClaims`). */
  claims(node: string): SessionClaims;
}

/** What the node works with once the serving parts exist (they need the relay to be made). */
export interface ClusterNodeParts {
  sessions: SessionDirectory;
  chat: ChatCore;
  /** This node's own duplicate ids, which other nodes' sends are remembered in too. */
  ownDuplicates: DuplicateIds;
  /** Carries out what an operator on another node asked of the whole cluster. */
  control(action: ControlAction): void;
}

/** A node in the cluster: its relay, and `attach` for the parts made after it. */
export interface ClusterNode {
  relay: Relay;
  /** The account's sessions across nodes, for `--max-sessions`; stop it before the store closes. */
  sessionCount: SessionCount;
  /** Must be called before the first turn: the bus's events need the parts. */
  attach(parts: ClusterNodeParts): void;
}

/** Joins the other nodes on the bus at `url`; their deliveries reach this node's sessions. */
export async function joinCluster(url: string, deps: ClusterNodeDeps): Promise<ClusterNode> {
  const { log, now, store, turns } = deps;
  let attached: ClusterNodeParts | undefined;
  const parts = (): ClusterNodeParts => {
    if (!attached) throw new Error("The cluster node was used before its parts were attached");
    return attached;
  };
  const node = crypto.randomUUID().slice(0, 8);
  const catchUp = createCatchUps(deps, parts);
  const bus = await connectNatsBus(url, {
    name: `chatz-${node}`,
    log,
    onStatus: (status) => catchUp.busStatus(status),
  });
  log.info("cluster_joined", { node });
  const relay = startRelay({
    bus,
    node,
    log,
    now,
    localOnline: () => parts().sessions.online(),
    localAccountCount: () => parts().sessions.accountCount,
    apply: (target, encoded) => parts().chat.fromCluster.apply(target, encoded),
    reloadGroups: () => parts().chat.fromCluster.reloadGroups(),
    wentOffline: (user) => parts().chat.fromCluster.wentOffline(user),
    requestFlush: turns.requestFlush,
    rememberSent(key, sent) {
      const send = parseSendKey(key);
      if (send) parts().ownDuplicates.remember(send.account, send.send, send.cid, sent);
    },
    reseedDuplicates: () => seedDuplicates(store, parts().ownDuplicates),
    control: (action) => parts().control(action),
    lastMessageId: catchUp.knownLastId,
    nodeLost(after, lost) {
      catchUp.all(after, "node_lost_catchup");
      sessionCount.nodeLost(lost);
    },
    catchUp: catchUp.fillGap,
  });
  catchUp.deliveredUpTo = () => relay.knownId;
  const sessionCount = startSessionCount({
    claims: deps.claims(node),
    log,
    sessions: () => attached?.sessions,
    requestFlush: turns.requestFlush,
  });
  return {
    relay,
    sessionCount,
    attach(given) {
      attached = given;
    },
  };
}

/** The ways this node's sessions catch up on what the bus did not bring. */
function createCatchUps(deps: ClusterNodeDeps, parts: () => ClusterNodeParts) {
  const { log, store, turns } = deps;
  /** The last message id read from the store; the one read before when the store cannot answer. */
  let lastKnownId = 0;
  /** The last message id when the bus dropped, while it is down. */
  let busDownAfter: number | undefined;

  const self = {
    /** The id up to which every id has reached this node's sessions (the relay's, once it runs). */
    deliveredUpTo: (): number => Infinity,

    knownLastId(): number {
      try {
        lastKnownId = store.lastMessageId;
      } catch {
        // The database is away (its requests answer store_unavailable): the last id read will do.
      }
      return lastKnownId;
    },

    /** Every session here catches up from the store after message `after` (the slow-reader path). */
    all(after: number, event: string): void {
      const { sessions, chat } = parts();
      for (const session of sessions.all()) chat.lagged(session, after + 1);
      log.info(event, { after, sessions: sessions.sessionCount });
      turns.requestFlush();
    },

    /**
     * While the bus is down, other nodes' messages are stored but not relayed here. When it is
     * back, every session here catches up from the store after the id it had reached at the drop,
     * as a slow reader does (duplicates of what it got meanwhile are dropped by id, section 6.5).
     */
    busStatus(status: "disconnect" | "reconnect"): void {
      if (status === "disconnect") {
        // Not only the last id stored: what was stored elsewhere after the drop but before this
        // node noticed it never arrived either.
        busDownAfter ??= Math.min(self.knownLastId(), self.deliveredUpTo());
        return;
      }
      if (busDownAfter === undefined) return;
      const after = busDownAfter;
      busDownAfter = undefined;
      self.all(after, "bus_catchup");
    },

    /**
     * Ids after `after` up to `upTo` never came over the bus (their node died before relaying
     * them, the bus lost them or is down): read from the store, they go to this node's sessions in
     * order. A range too wide to read at once makes every session catch up as a slow reader.
     */
    fillGap(after: number, upTo: number): void {
      if (upTo - after <= MAX_CATCHUP) {
        try {
          const messages = parts().chat.fillFromStore(after, upTo);
          log.info("relay_gap_filled", { after, upTo, messages });
          return;
        } catch (error) {
          log.warn("relay_gap_unfilled", { after, upTo, error: (error as Error).message });
        }
      }
      self.all(after, "relay_gap_catchup");
    },
  };
  return self;
}
