// Duplicate suppression across a cluster: a send stored on one node is remembered on every node, so
// a client that fails over and re-sends what was never acknowledged is answered, not stored twice.

import type { Sent } from "../../../protocol/plugin.ts";
import type { ClientIdSplit } from "../client_ids.ts";
import { type DuplicateIds, sendKey } from "../shared_state.ts";
import type { ClusterLink } from "./link.ts";

/** `own`, with every send remembered here also handed to the other nodes (after the commit). */
export function sharedDuplicates(own: DuplicateIds, cluster: ClusterLink): DuplicateIds {
  return {
    get: (account, send, cid, split) => own.get(account, send, cid, split),
    remember(account: string, send: number, cid: string, sent: Sent, split?: ClientIdSplit) {
      own.remember(account, send, cid, sent, split);
      cluster.sent(sendKey(account, send, cid), sent);
    },
    clear: () => own.clear(),
  };
}
