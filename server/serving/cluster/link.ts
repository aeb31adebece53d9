// The seam between a node's chat services and the rest of a cluster: deliveries meant for sessions
// on other nodes, and what this node knows of the accounts online there. Absent in embedded mode.

import type { OnlineUser, Sent } from "../../../protocol/plugin.ts";

/** Whose sessions a delivery is for, named so that any node can find its own such sessions. */
export type RemoteTarget =
  | { kind: "everyone" }
  | { kind: "account"; account: string }
  /** The members of a group, by the group's key. */
  | { kind: "members"; group: string };

/** What the chat services see of the cluster. */
export interface ClusterLink {
  /** The accounts online on the other live nodes. */
  online(): OnlineUser[];
  /** Queues an encoded event for the matching sessions on the other nodes; sent after the commit. */
  deliver(target: RemoteTarget, encoded: string): void;
  /** Whether an account has a session on another live node. */
  onlineElsewhere(account: string): boolean;
  /** The login of an account online on another node (no database read on the message path). */
  loginOf(account: string): string | undefined;
  /** A send with a client id was stored: the other nodes answer its re-sends from now on. */
  sent(key: string, sent: Sent): void;
  /**
   * For a message event with `id` about to reach a session here: true when it must wait until
   * every lower id is known on this node (stored by another node, its relay still on the way);
   * `deliver` then runs once they have reached this node's sessions, so each session gets ids in
   * order. False when it may go now.
   */
  holdBack(id: number, deliver: () => void): boolean;
}
