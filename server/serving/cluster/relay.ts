// A node's part of the cluster: its turns' deliveries for other nodes' sessions go out on the bus
// after the commit, theirs come in and reach this node's sessions in id order; operators' actions.

import { nameKey } from "../../../protocol/mod.ts";
import type { Sent } from "../../../protocol/plugin.ts";
import { type DirectoryDeps, type NodeUsers, startDirectory } from "./directory.ts";
import type { ClusterLink, RemoteTarget } from "./link.ts";
import { createIdOrder, type IdOrder } from "./id_order.ts";
import { parseBusMessage } from "./nats_bus.ts";

export type { NodeUsers } from "./directory.ts";

/** Subject of turn batches: the deliveries of one node's committed turn. */
const TURNS = "chatz.turns";
/** Subject of operator actions that every node carries out (kick, pause, resume, clear). */
const CONTROL = "chatz.control";
/**
 * How long deliveries wait for lower ids another node stored before this node gives up on their
 * relay and catches its sessions up from the store. A relay takes milliseconds (under a second on
 * a loaded machine), so this is a node that died between its commit and its publish, or a bus that
 * lost messages; under the 3.5 s after which a silent node counts as dead.
 */
export const GAP_WAIT_MS = 2000;
/** How often waiting deliveries are checked against GAP_WAIT_MS. */
const GAP_CHECK_MS = 250;

/** One turn's deliveries, as published: [kind, target, encoded event]. */
interface TurnBatch {
  node: string;
  /** The turn changed groups: reload them from the store before delivering. */
  groups?: true;
  deliveries: ["e" | "a" | "m", string, string][];
  /** Sends stored with a client id: [account and id key, message id, ts]. */
  sent?: [string, number, number][];
  /** The message ids the turn took: after the first, up to the second (see IdRange). */
  ids?: [number, number];
}

/** An operator's action that the other nodes carry out on their own sessions and gate. */
export type ControlAction =
  | { action: "kick"; login: string; reason: string }
  | { action: "pause" }
  | { action: "resume" }
  /** The accounts were cleared in the shared store: end every session, forget the groups. */
  | { action: "clear" };

/** What the relay needs from its node: the directory's needs and these. */
export interface RelayDeps extends DirectoryDeps {
  /** Delivers another node's event to this node's matching sessions. */
  apply(target: RemoteTarget, encoded: string): void;
  /** Another node changed groups: read them again from the store. */
  reloadGroups(): void;
  /** Another node stored a send with a client id: answer its re-sends here too. */
  rememberSent(key: string, sent: Sent): void;
  /** An operator on another node acted on the whole cluster: do it here too. */
  control(action: ControlAction): void;
  /**
   * Ids after `after`, up to `upTo`, never arrived from the node that stored them (GAP_WAIT_MS):
   * this node's sessions get them from the store.
   */
  catchUp(after: number, upTo: number): void;
}

/** The relay: the cluster link the chat services use, and the node's hooks around commits. */
export interface Relay extends ClusterLink {
  /** This node's name on the bus (random at each start). */
  readonly node: string;
  /** The open turn wrote groups. */
  groupsChanged(): void;
  /** Every message id up to this one has reached this node's sessions (or was given up on). */
  readonly knownId: number;
  /** The open turn locked the message id counter at `after` (the store says so). */
  idsLocked(after: number): void;
  /** The turn that locked the counter committed; the counter is now `last`. */
  idsCommitted(last: number): void;
  /** The turn committed: publish its deliveries. */
  flush(): void;
  /** The turn's commit failed: nothing of it may go out. */
  discard(): void;
  /** The other live nodes, with how many accounts are online on each. */
  nodes(): { node: string; accounts: number; lastSeen: number }[];
  /**
   * Asks the other nodes to kick `login` as well; returns how many sessions it has there, as
   * their heartbeats said.
   */
  kickElsewhere(login: string, reason: string): number;
  /** Asks the other nodes to carry out `action`; returns how many live nodes were asked. */
  tellOthers(action: ControlAction): number;
  /** The accounts online on each other live node, by node. */
  usersElsewhere(): NodeUsers[];
  /** Says goodbye to the other nodes and stops. */
  close(): Promise<void>;
}

/**
 * Starts relaying: subscribes to the other nodes' turns and operator actions, and starts the
 * directory of nodes (heartbeats).
 */
export function startRelay(deps: RelayDeps): Relay {
  const { bus, node, log, now } = deps;
  const directory = startDirectory(deps);
  const turns = turnRelay(deps);

  bus.subscribe(CONTROL, (data) => {
    const message = parseBusMessage<ControlAction & { node: string }>(data, "control", log);
    if (!message || message.node === node) return;
    if (message.action === "kick") {
      if (typeof message.login !== "string") return;
      deps.control({ action: "kick", login: message.login, reason: String(message.reason ?? "") });
    } else if (["pause", "resume", "clear"].includes(message.action)) {
      deps.control({ action: message.action });
    } else {
      log.warn("bus_bad_message", { what: "control" });
      return;
    }
    deps.requestFlush();
  });

  const gapTimer = setInterval(() => {
    if (turns.order.waiting === 0) return;
    const gaveUp = turns.order.expire(now() - GAP_WAIT_MS, (after, upTo) => {
      log.warn("relay_gap", { after, upTo, waiting: turns.order.waiting });
      deps.catchUp(after, upTo);
    });
    if (gaveUp) deps.requestFlush();
  }, GAP_CHECK_MS);

  return {
    node,
    get knownId() {
      return turns.order.known;
    },
    deliver: turns.deliver,
    sent: turns.sent,
    holdBack: (id, deliver) => turns.order.holdBack(id, deliver),
    idsLocked: turns.idsLocked,
    idsCommitted: turns.idsCommitted,
    groupsChanged: turns.groupsChanged,
    discard: turns.discard,
    flush() {
      // Someone logged in or out here: the others learn it now, not at the next heartbeat.
      directory.beatIfChanged();
      turns.publish();
    },
    onlineElsewhere: directory.onlineElsewhere,
    loginOf: directory.loginOf,
    online: directory.online,
    usersElsewhere: directory.usersElsewhere,
    nodes: directory.nodes,
    kickElsewhere(login, reason) {
      bus.publish(CONTROL, JSON.stringify({ node, action: "kick", login, reason }));
      return directory.sessionsElsewhere(nameKey(login));
    },
    tellOthers(action) {
      bus.publish(CONTROL, JSON.stringify({ node, ...action }));
      return directory.size;
    },
    async close() {
      clearInterval(gapTimer);
      directory.stop();
      await bus.close();
    },
  };
}

/** The turns' side of the relay: what a turn queues for the other nodes, and theirs coming in. */
function turnRelay(deps: RelayDeps) {
  const { bus, node, log, now } = deps;
  let queued: TurnBatch["deliveries"] = [];
  let sentIds: NonNullable<TurnBatch["sent"]> = [];
  let groups = false;
  /** The ids the open turn took, once it locked the counter and once it committed. */
  let turnIds: { after: number; last?: number } | undefined;
  const order: IdOrder = createIdOrder(deps.lastMessageId(), now);

  bus.subscribe(TURNS, (data) => {
    const batch = parseBusMessage<TurnBatch>(data, "turn", log);
    if (!batch || batch.node === node) return;
    if (batch.groups) deps.reloadGroups();
    for (const [key, id, ts] of batch.sent ?? []) deps.rememberSent(key, { id, ts });
    const ids = batch.ids;
    if (!ids) return applyBatch(batch);
    // After every lower id has reached this node's sessions.
    order.arrived({ after: ids[0], last: ids[1] }, () => applyBatch(batch));
  });

  function applyBatch(batch: TurnBatch): void {
    for (const [kind, target, encoded] of batch.deliveries) {
      deps.apply(
        kind === "e"
          ? { kind: "everyone" }
          : kind === "a"
          ? { kind: "account", account: target }
          : { kind: "members", group: target },
        encoded,
      );
    }
    deps.requestFlush();
  }

  return {
    order,
    deliver(target: RemoteTarget, encoded: string): void {
      const key = target.kind === "everyone"
        ? ""
        : target.kind === "account"
        ? target.account
        : target.group;
      queued.push([
        target.kind === "everyone" ? "e" : target.kind === "account" ? "a" : "m",
        key,
        encoded,
      ]);
    },
    sent(key: string, sent: Sent): void {
      sentIds.push([key, sent.id, sent.ts]);
    },
    idsLocked(after: number): void {
      turnIds = { after };
      order.locked(after);
    },
    idsCommitted(last: number): void {
      if (turnIds) turnIds.last = last;
      order.committed(last);
    },
    groupsChanged(): void {
      groups = true;
    },
    /** The turn committed: its batch goes out. */
    publish(): void {
      // A turn that took ids is published even without deliveries: the other nodes learn that
      // those ids are settled, and deliver what waited for them.
      const ids = turnIds?.last !== undefined && turnIds.last > turnIds.after
        ? [turnIds.after, turnIds.last] as [number, number]
        : undefined;
      turnIds = undefined;
      if (queued.length === 0 && !groups && sentIds.length === 0 && !ids) return;
      const batch: TurnBatch = { node, deliveries: queued };
      if (groups) batch.groups = true;
      if (sentIds.length > 0) batch.sent = sentIds;
      if (ids) batch.ids = ids;
      queued = [];
      sentIds = [];
      groups = false;
      bus.publish(TURNS, JSON.stringify(batch));
    },
    discard(): void {
      queued = [];
      sentIds = [];
      groups = false;
      turnIds = undefined;
      order.discard();
    },
  };
}
