// Duplicate suppression across a cluster: a send stored on one node is remembered on every node, so
// a client that fails over and re-sends what was never acknowledged is answered, not stored twice.

import type { Sent } from "../../../protocol/plugin.ts";
import type { DuplicateIds } from "../shared_state.ts";
import type { ClusterLink } from "./link.ts";

/** `own`, with every send remembered here also handed to the other nodes (after the commit). */
export function sharedDuplicates(own: DuplicateIds, cluster: ClusterLink): DuplicateIds {
  return {
    get: (key) => own.get(key),
    remember(key: string, sent: Sent) {
      own.remember(key, sent);
      cluster.sent(key, sent);
    },
    clear: () => own.clear(),
  };
}
