// The cluster's directory of nodes: each node's heartbeat tells the others who is online on it, and
// a node silent for too long is taken as dead (its users go offline, the others catch up).

import { nameKey } from "../../../protocol/mod.ts";
import type { OnlineUser } from "../../../protocol/plugin.ts";
import type { Logger } from "../../log.ts";
import { type Bus, parseBusMessage } from "./nats_bus.ts";

/** Subject of heartbeats: each node's online accounts. */
const NODES = "chatz.nodes";
/** How often a node tells the others who is online on it. */
export const HEARTBEAT_MS = 1000;
/** Silence after which a node counts as dead: three and a half missed heartbeats. */
export const NODE_DEAD_MS = 3500;

/** A heartbeat, or a node's goodbye. */
interface NodeBeat {
  node: string;
  online: OnlineUser[];
  bye?: true;
}

/** One node's online accounts, as its last heartbeat said. */
export interface NodeUsers {
  /** The node's name on the bus. */
  node: string;
  /** Its online accounts. */
  online: OnlineUser[];
}

/** What the directory needs from its node. */
export interface DirectoryDeps {
  /** The bus the heartbeats go over. */
  bus: Bus;
  /** This node's name on the bus. */
  node: string;
  /** Where nodes joining and lost are logged. */
  log: Logger;
  /** The clock heartbeats are timed by. */
  now: () => number;
  /** This node's own online accounts. */
  localOnline(): OnlineUser[];
  /** How many accounts are online on this node: cheap, read after every turn. */
  localAccountCount(): number;
  /** Accounts of a dead node went offline: tell this node's sessions of their contacts. */
  wentOffline(user: { account: string; login: string }): void;
  /** Something was queued for this node's sessions: make sure it is sent. */
  requestFlush(): void;
  /** A node died: the recent client ids are read again from the store. */
  reseedDuplicates(): void;
  /** The last message id this node knows to be stored. */
  lastMessageId(): number;
  /**
   * Node `node` died: this node's sessions catch up from the store after message `after`, and the
   * dead node's sessions stop counting against `--max-sessions`.
   */
  nodeLost(after: number, node: string): void;
}

/** The other live nodes and their online accounts, as their heartbeats said. */
export interface Directory {
  /** Whether an account has a session on another live node. */
  onlineElsewhere(account: string): boolean;
  /** The login of an account online on another node. */
  loginOf(account: string): string | undefined;
  /** How many sessions an account has on the other live nodes. */
  sessionsElsewhere(account: string): number;
  /** The accounts online on the other live nodes. */
  online(): OnlineUser[];
  /** The accounts online on each other live node, by node. */
  usersElsewhere(): NodeUsers[];
  /** The other live nodes, with how many accounts are online on each. */
  nodes(): { node: string; accounts: number; lastSeen: number }[];
  /** How many other live nodes there are. */
  readonly size: number;
  /** Sends a heartbeat now if this node's online accounts changed since the last one. */
  beatIfChanged(): void;
  /** Says goodbye to the other nodes and stops beating. */
  stop(): void;
}

/** Subscribes to the other nodes' heartbeats and sends this node's, every HEARTBEAT_MS. */
export function startDirectory(deps: DirectoryDeps): Directory {
  const { bus, node, log, now } = deps;
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

  bus.subscribe(NODES, (data) => {
    const beat = parseBusMessage<NodeBeat>(data, "heartbeat", log);
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

  /** Drops nodes silent for too long; their accounts go offline unless online elsewhere. */
  function sweep(): void {
    const cutoff = now() - NODE_DEAD_MS;
    for (const [id, entry] of directory) {
      if (entry.seen >= cutoff) continue;
      directory.delete(id);
      log.warn("node_lost", { node: id, accounts: entry.online.length });
      deps.reseedDuplicates();
      deps.nodeLost(entry.after, id);
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

  // The first beat once the node's services exist (they are built after the relay).
  const first = setTimeout(beat, 0);
  const timer = setInterval(() => {
    beat();
    sweep();
  }, HEARTBEAT_MS);

  return {
    onlineElsewhere,
    loginOf,
    sessionsElsewhere(account) {
      let count = 0;
      for (const entry of directory.values()) count += entry.users.get(account)?.sessions ?? 0;
      return count;
    },
    online: () => [...directory.values()].flatMap((entry) => entry.online),
    usersElsewhere: () => [...directory].map(([id, entry]) => ({ node: id, online: entry.online })),
    nodes: () =>
      [...directory].map(([id, entry]) => ({
        node: id,
        accounts: entry.online.length,
        lastSeen: entry.seen,
      })),
    get size() {
      return directory.size;
    },
    beatIfChanged() {
      if (deps.localAccountCount() !== beatCount) beat();
    },
    stop() {
      clearTimeout(first);
      clearInterval(timer);
      beat(true);
    },
  };
}
