// A store that reports its group writes: in a cluster, a turn that changed groups tells the other
// nodes to read them again, whichever service or plugin did the writing.

import type { Store } from "../store/store.ts";

/** `store`, with `changed` called before each write that changes groups or memberships. */
export function watchGroupWrites(store: Store, changed: () => void): Store {
  // Everything else, getters included, is the store's own (the object inherits from it).
  const watched = Object.create(store) as Store;
  return Object.assign(watched, {
    createGroup(group: Parameters<Store["createGroup"]>[0]) {
      changed();
      store.createGroup(group);
    },
    deleteGroup(key: string) {
      changed();
      store.deleteGroup(key);
    },
    setOwner(key: string, ownerKey: string) {
      changed();
      store.setOwner(key, ownerKey);
    },
    addMember(group: string, account: string, login: string, joined: number) {
      changed();
      store.addMember(group, account, login, joined);
    },
    removeMember(group: string, account: string) {
      changed();
      store.removeMember(group, account);
    },
    setGroupPolicy(key: string, policy: Parameters<Store["setGroupPolicy"]>[1]) {
      changed();
      store.setGroupPolicy(key, policy);
    },
    deleteAccount(key: string) {
      changed(); // its memberships go with it
      store.deleteAccount(key);
    },
    clearIdentities() {
      changed();
      return store.clearIdentities();
    },
  });
}
