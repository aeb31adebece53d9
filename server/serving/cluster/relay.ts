// A node's part of the cluster: its turns' deliveries for other nodes' sessions go out on the bus
// after the commit, theirs come in and reach this node's sessions; heartbeats keep the directory.

import { nameKey } from "../../../protocol/mod.ts";
import type { OnlineUser, Sent } from "../../../protocol/plugin.ts";
import type { Logger } from "../../log.ts";
import type { ClusterLink, RemoteTarget } from "./link.ts";
import type { Bus } from "./nats_bus.ts";

/** Subject of turn batches: the deliveries of one node's committed turn. */
const TURNS = "chatz.turns";
/** Subject of heartbeats: each node's online accounts. */
const NODES = "chatz.nodes";
/** Subject of operator actions that every node carries out (kick, pause, resume, clear). */
const CONTROL = "chatz.control";
/** How often a node tells the others who is online on it. */
export const HEARTBEAT_MS = 1000;
/** Silence after which a node counts as dead: three and a half missed heartbeats. */
export const NODE_DEAD_MS = 3500;

/** One turn's deliveries, as published: [kind, target, encoded event]. */
interface TurnBatch {
  node: string;
  /** The turn changed groups: reload them from the store before delivering. */
  groups?: true;
  deliveries: ["e" | "a" | "m", string, string][];
  /** Sends stored with a client id: [account and id key, message id, ts]. */
  sent?: [string, number, number][];
}

/** A heartbeat, or a node's goodbye. */
interface NodeBeat {
  node: string;
  online: OnlineUser[];
  bye?: true;
}

/** An operator's action that the other nodes carry out on their own sessions and gate. */
export type ControlAction =
  | { action: "kick"; login: string; reason: string }
  | { action: "pause" }
  | { action: "resume" }
  /** The accounts were cleared in the shared store: end every session, forget the groups. */
  | { action: "clear" };

/** One node's online accounts, as its last heartbeat said. */
export interface NodeUsers {
  node: string;
  online: OnlineUser[];
}

/** What the relay needs from its node. */
export interface RelayDeps {
  bus: Bus;
  node: string;
  log: Logger;
  now: () => number;
  /** This node's own online accounts. */
  localOnline(): OnlineUser[];
  /** How many accounts are online on this node: cheap, read after every turn. */
  localAccountCount(): number;
  /** Delivers another node's event to this node's matching sessions. */
  apply(target: RemoteTarget, encoded: string): void;
  /** Another node changed groups: read them again from the store. */
  reloadGroups(): void;
  /** Accounts of a dead node went offline: tell this node's sessions of their contacts. */
  wentOffline(user: { account: string; login: string }): void;
  /** Something was queued for this node's sessions: make sure it is sent. */
  requestFlush(): void;
  /** Another node stored a send with a client id: answer its re-sends here too. */
  rememberSent(key: string, sent: Sent): void;
  /**
   * A node died: what it stored just before may not have reached this node, so the recent client
   * ids are read again from the store before its clients re-send here.
   */
  reseedDuplicates(): void;
  /** The last message id this node knows to be stored. */
  lastMessageId(): number;
  /**
   * A node died: what it stored after message `after` may never have been relayed (its socket's
   * unsent data dies with it), so this node's sessions catch up from the store.
   */
  nodeLost(after: number): void;
  /** An operator on another node acted on the whole cluster: do it here too. */
  control(action: ControlAction): void;
}

/** The relay: the cluster link the chat services use, and the node's hooks around commits. */
export interface Relay extends ClusterLink {
  /** This node's name on the bus (random at each start). */
  readonly node: string;
  /** The open turn wrote groups. */
  groupsChanged(): void;
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
 * Starts relaying: subscribes to the other nodes' turns and heartbeats, and sends its own. One
 * closure of about 185 lines: the turn's queue, the directory and the timers are one state.
 */
export function startRelay(deps: RelayDeps): Relay {
  const { bus, node, log, now } = deps;
  let queued: TurnBatch["deliveries"] = [];
  let sentIds: NonNullable<TurnBatch["sent"]> = [];
  let groups = false;
  const directory = new Map<
    string,
    {
      online: OnlineUser[];
      users: Map<string, OnlineUser>;
      seen: number;
      /** The last id known here at this node's previous heartbeat, and at its latest. */
      after: number;
      known: number;
    }
  >();

  bus.subscribe(TURNS, (data) => {
    const batch = parse<TurnBatch>(data, "turn");
    if (!batch || batch.node === node) return;
    if (batch.groups) deps.reloadGroups();
    for (const [key, id, ts] of batch.sent ?? []) deps.rememberSent(key, { id, ts });
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
  });

  bus.subscribe(CONTROL, (data) => {
    const message = parse<ControlAction & { node: string }>(data, "control");
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

  bus.subscribe(NODES, (data) => {
    const beat = parse<NodeBeat>(data, "heartbeat");
    if (!beat || beat.node === node) return;
    if (beat.bye) {
      directory.delete(beat.node);
      return;
    }
    const previous = directory.get(beat.node);
    if (!previous) log.info("node_joined", { node: beat.node });
    const known = deps.lastMessageId();
    directory.set(beat.node, {
      // Its turns published before its previous heartbeat have all arrived (NATS keeps one
      // publisher's order); later ones may not have, when it dies.
      after: previous?.known ?? known,
      known,
      online: beat.online,
      users: new Map(beat.online.map((u) => [nameKey(u.login), u])),
      seen: now(),
    });
  });

  function parse<T>(data: string, what: string): T | undefined {
    try {
      return JSON.parse(data) as T;
    } catch {
      log.warn("bus_bad_message", { what });
      return undefined;
    }
  }

  /** Drops nodes silent for too long; their accounts go offline unless online elsewhere. */
  function sweep(): void {
    const cutoff = now() - NODE_DEAD_MS;
    for (const [id, entry] of directory) {
      if (entry.seen >= cutoff) continue;
      directory.delete(id);
      log.warn("node_lost", { node: id, accounts: entry.online.length });
      deps.reseedDuplicates();
      deps.nodeLost(entry.after);
      const local = new Set(deps.localOnline().map((u) => nameKey(u.login)));
      for (const user of entry.online) {
        const account = nameKey(user.login);
        if (!local.has(account) && !onlineElsewhere(account)) {
          deps.wentOffline({ account, login: user.login });
        }
      }
      deps.requestFlush();
    }
  }

  /** Accounts online here at the last heartbeat: a change sends the next one at once. */
  let beatCount = -1;

  function beat(bye = false): void {
    beatCount = deps.localAccountCount();
    const message: NodeBeat = { node, online: bye ? [] : deps.localOnline() };
    if (bye) message.bye = true;
    bus.publish(NODES, JSON.stringify(message));
  }

  function onlineElsewhere(account: string): boolean {
    return loginOf(account) !== undefined;
  }

  function loginOf(account: string): string | undefined {
    for (const entry of directory.values()) {
      const user = entry.users.get(account);
      if (user !== undefined) return user.login;
    }
    return undefined;
  }

  function sessionsElsewhere(account: string): number {
    let count = 0;
    for (const entry of directory.values()) count += entry.users.get(account)?.sessions ?? 0;
    return count;
  }

  // The first beat once the node's services exist (they are built after the relay).
  const first = setTimeout(beat, 0);
  const timer = setInterval(() => {
    beat();
    sweep();
  }, HEARTBEAT_MS);

  return {
    node,
    deliver(target, encoded) {
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
    onlineElsewhere,
    loginOf,
    sessionsElsewhere,
    sent(key, sent) {
      sentIds.push([key, sent.id, sent.ts]);
    },
    online() {
      return [...directory.values()].flatMap((entry) => entry.online);
    },
    groupsChanged() {
      groups = true;
    },
    flush() {
      // Someone logged in or out here: the others learn it now, not at the next heartbeat.
      if (deps.localAccountCount() !== beatCount) beat();
      if (queued.length === 0 && !groups && sentIds.length === 0) return;
      const batch: TurnBatch = { node, deliveries: queued };
      if (groups) batch.groups = true;
      if (sentIds.length > 0) batch.sent = sentIds;
      queued = [];
      sentIds = [];
      groups = false;
      bus.publish(TURNS, JSON.stringify(batch));
    },
    discard() {
      queued = [];
      sentIds = [];
      groups = false;
    },
    kickElsewhere(login, reason) {
      bus.publish(CONTROL, JSON.stringify({ node, action: "kick", login, reason }));
      return sessionsElsewhere(nameKey(login));
    },
    tellOthers(action) {
      bus.publish(CONTROL, JSON.stringify({ node, ...action }));
      return directory.size;
    },
    usersElsewhere() {
      return [...directory].map(([id, entry]) => ({ node: id, online: entry.online }));
    },
    nodes() {
      return [...directory].map(([id, entry]) => ({
        node: id,
        accounts: entry.online.length,
        lastSeen: entry.seen,
      }));
    },
    async close() {
      clearTimeout(first);
      clearInterval(timer);
      beat(true);
      await bus.close();
    },
  };
}
