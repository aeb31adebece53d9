// A node's group table that reads the store on a miss: a group another node just created is usable
// here at once, before the bus has told this node to read its groups again.

import { loadGroups } from "../chat/group_services.ts";
import type { GroupDirectory } from "../shared_state.ts";
import type { Store } from "../store/store.ts";

/**
 * `groups`, read again from `store` when asked for a group it does not have. A miss costs the same
 * reads as a bus-driven reload (the groups, their members and policies); misses come from names
 * typed by users, whose commands are rate limited, and from creating a group, which is rare.
 */
export function readGroupsOnMiss(groups: GroupDirectory, store: Store): GroupDirectory {
  let reading = false;
  return {
    get(name) {
      const found = groups.get(name);
      if (found || reading) return found;
      reading = true;
      try {
        groups.clear();
        loadGroups(store, groups);
      } finally {
        reading = false;
      }
      return groups.get(name);
    },
    list: () => groups.list(),
    groupsOf: (account) => groups.groupsOf(account),
    create: (name, owner, created) => groups.create(name, owner, created),
    addMember: (group, account, login) => groups.addMember(group, account, login),
    removeMember: (group, account) => groups.removeMember(group, account),
    clear: () => groups.clear(),
    get size() {
      return groups.size;
    },
  };
}
