// Group chats in memory: names, owners and members, in join order. Pure state, no I/O.
// The store persists the same facts; this table answers every membership check on the message path.

import { nameKey } from "../../protocol/names.ts";
import type { GroupPolicy } from "./store/store.ts";

/** A group and its members (account key → login), in the order they joined. */
export interface Group {
  readonly key: string;
  readonly name: string;
  ownerKey: string;
  owner: string;
  readonly created: number;
  readonly members: Map<string, string>;
  /** What the owner set: topic, invite-only, bans, invitations (persisted as one value). */
  policy: GroupPolicy;
}

/** What leaving did to the group. */
export interface LeaveOutcome {
  /** The group had no member left and is gone. */
  deleted: boolean;
  /** The owner left: the longest-standing member who took over. */
  newOwner?: { key: string; login: string };
}

/** All groups, by name key and by member. */
export class GroupTable {
  readonly #groups = new Map<string, Group>();
  readonly #byMember = new Map<string, Set<string>>();

  get(name: string): Group | undefined {
    return this.#groups.get(nameKey(name));
  }

  /** Every group, sorted by name. */
  list(): Group[] {
    return [...this.#groups.values()].sort((a, b) => a.key.localeCompare(b.key));
  }

  /** The groups an account belongs to, sorted by name. */
  groupsOf(account: string): Group[] {
    const keys = this.#byMember.get(account);
    if (!keys) return [];
    return [...keys].map((key) => this.#groups.get(key)!).sort((a, b) =>
      a.key.localeCompare(b.key)
    );
  }

  /** Creates a group with its owner as first member; the caller checked the name is free. */
  create(name: string, owner: { key: string; login: string }, created: number): Group {
    const group: Group = {
      key: nameKey(name),
      name,
      ownerKey: owner.key,
      owner: owner.login,
      created,
      members: new Map(),
      policy: {},
    };
    this.#groups.set(group.key, group);
    this.addMember(group, owner.key, owner.login);
    return group;
  }

  addMember(group: Group, account: string, login: string): void {
    group.members.set(account, login);
    let keys = this.#byMember.get(account);
    if (!keys) this.#byMember.set(account, keys = new Set());
    keys.add(group.key);
  }

  /** Removes a member; an empty group is deleted, a departing owner is replaced. */
  removeMember(group: Group, account: string): LeaveOutcome {
    group.members.delete(account);
    const keys = this.#byMember.get(account);
    keys?.delete(group.key);
    if (keys?.size === 0) this.#byMember.delete(account);
    if (group.members.size === 0) {
      this.#groups.delete(group.key);
      return { deleted: true };
    }
    if (group.ownerKey !== account) return { deleted: false };
    const [key, login] = group.members.entries().next().value!;
    group.ownerKey = key;
    group.owner = login;
    return { deleted: false, newOwner: { key, login } };
  }

  /** Forgets every group. */
  clear(): void {
    this.#groups.clear();
    this.#byMember.clear();
  }

  get size(): number {
    return this.#groups.size;
  }
}
