// Groups as the chat services offer them: create, join, leave, kick, hand over, list.
// Membership lives in the group table (memory) and the store (disk); members hear of every change.

import { type GroupEvent, isValidName, NAME_RULE, nameKey, plural } from "../../../protocol/mod.ts";
import type { Caller, GroupInfo } from "../../../protocol/plugin.ts";
import type { CoreServices } from "../bound_services.ts";
import { ChatError } from "../../errors.ts";
import type { Group } from "../groups.ts";
import type { GroupDirectory } from "../shared_state.ts";
import type { Store } from "../store/store.ts";
import type { PartDeps } from "./deps.ts";
import type { FanOut } from "./fan_out.ts";

/** The group services, and what clearing the identity store must undo. */
export type GroupServices =
  & Pick<
    CoreServices,
    | "groups"
    | "group"
    | "members"
    | "groupsOf"
    | "createGroup"
    | "joinGroup"
    | "leaveGroup"
    | "kickFromGroup"
    | "transferGroup"
  >
  & {
    /** Forgets every group in memory after the identity store was cleared. */
    groupsCleared(): void;
  };

/** The group called `name`, or a `no_such_group` error naming the action. */
export function requireGroup(groups: GroupDirectory, name: string, action: string): Group {
  const group = groups.get(name);
  if (!group) {
    throw new ChatError("no_such_group", `Cannot ${action} group "${name}": no such group`);
  }
  return group;
}

/** A `not_member` error naming the action unless the caller is a member of `group`. */
export function requireMember(group: Group, caller: Caller, action: string): void {
  if (!group.members.has(nameKey(caller.login))) {
    throw new ChatError(
      "not_member",
      `Cannot ${action} group "${group.name}": you are not a member`,
    );
  }
}

/** A `forbidden` error naming the action unless the caller owns `group`. */
export function requireOwner(group: Group, caller: Caller, action: string): void {
  if (group.ownerKey !== nameKey(caller.login)) {
    throw new ChatError(
      "forbidden",
      `Cannot ${action} in group "${group.name}": only its owner ${group.owner} can`,
    );
  }
}

/** A group event as sent to clients. */
export function groupEventJson(
  group: Group,
  event: { action: GroupEvent["action"]; login: string; by?: string; topic?: string; ts: number },
): string {
  const full: GroupEvent = { type: "group", group: group.name, ...event };
  return JSON.stringify(full);
}

/** Fills the group table from the store, at start. */
export function loadGroups(store: Store, groups: GroupDirectory): void {
  const policies = store.groupPolicies();
  for (const stored of store.loadGroups()) {
    const owner = stored.members.find((m) => m.account === stored.ownerKey) ?? stored.members[0];
    if (!owner) continue;
    const group = groups.create(
      stored.name,
      { key: owner.account, login: owner.login },
      stored.created,
    );
    group.ownerKey = stored.ownerKey;
    group.policy = policies.get(stored.key) ?? {};
    for (const member of stored.members) groups.addMember(group, member.account, member.login);
  }
}

/**
 * Builds the group services over the group table, the store and the fan-out. Long only as a list
 * of short methods sharing the same helpers: each fits on a screen, and they read as the interface.
 */
export function createGroupServices(deps: PartDeps, fanOut: FanOut): GroupServices {
  const { store, groups, log, now, events, userOf } = deps;

  function groupEvent(
    group: Group,
    action: GroupEvent["action"],
    login: string,
    by?: string,
  ): string {
    return groupEventJson(group, { action, login, by, ts: now() });
  }

  const requireRoomForGroup = (account: string, action: string) =>
    requireRoom(deps, account, action);

  return {
    groups: () => groups.list().map(info),
    group(name) {
      const group = groups.get(name);
      return group ? info(group) : undefined;
    },
    members: (name) => [...requireGroup(groups, name, "list members of").members.values()].sort(),
    groupsOf: (login) => groups.groupsOf(nameKey(login)).map((g) => g.name),

    createGroup(owner, name) {
      if (!isValidName(name)) {
        throw new ChatError(
          "invalid_name",
          `Cannot create group "${name}": names are ${NAME_RULE}`,
        );
      }
      if (groups.get(name)) {
        throw new ChatError("group_exists", `Cannot create group "${name}": it already exists`);
      }
      const ownerKey = nameKey(owner.login);
      requireRoomForGroup(ownerKey, `create group "${name}"`);
      const created = now();
      // The store first: in a cluster another node may have just taken the name (group_exists).
      store.createGroup({ key: nameKey(name), name, ownerKey, created });
      const group = groups.create(name, { key: ownerKey, login: owner.login }, created);
      store.addMember(group.key, ownerKey, owner.login, group.created);
      // Groups are listed to everyone, so everyone hears of new and deleted ones.
      fanOut.pushEveryone(groupEvent(group, "create", owner.login), owner.session);
      log.info("group_create", { group: group.name, owner: owner.login });
      return info(group);
    },

    joinGroup(caller, name) {
      const group = requireGroup(groups, name, "join");
      const key = nameKey(caller.login);
      if (group.members.has(key)) {
        throw new ChatError(
          "already_member",
          `Cannot join group "${group.name}": you are already a member`,
        );
      }
      requireAdmitted(group, key);
      requireRoomForGroup(key, `join group "${group.name}"`);
      groups.addMember(group, key, caller.login);
      store.addMember(group.key, key, caller.login, now());
      if (group.policy.invited?.includes(key)) {
        group.policy.invited = group.policy.invited.filter((k) => k !== key);
        store.setGroupPolicy(group.key, group.policy);
      }
      fanOut.pushToMembers(group, groupEvent(group, "join", caller.login), caller.session);
      // The built-in groups plugin shows the joiner recent messages on this event.
      const joined = { group: group.name, login: caller.login, session: caller.session };
      events.emit("group_join", joined, () => userOf(caller));
      return info(group);
    },

    leaveGroup(caller, name) {
      const group = requireGroup(groups, name, "leave");
      requireMember(group, caller, "leave");
      const key = nameKey(caller.login);
      fanOut.pushToMembers(group, groupEvent(group, "leave", caller.login), caller.session);
      const outcome = groups.removeMember(group, key);
      const left = { group: group.name, login: caller.login, reason: "leave" as const };
      events.emit("group_leave", left, () => userOf(caller));
      if (outcome.deleted) {
        store.deleteGroup(group.key);
        fanOut.pushEveryone(groupEvent(group, "delete", caller.login), caller.session);
        log.info("group_delete", { group: group.name, reason: "empty" });
        return;
      }
      store.removeMember(group.key, key);
      if (outcome.newOwner) {
        store.setOwner(group.key, outcome.newOwner.key);
        fanOut.pushToMembers(group, groupEvent(group, "owner", outcome.newOwner.login));
      }
    },

    kickFromGroup(owner, name, login) {
      const group = requireGroup(groups, name, "kick from");
      requireOwner(group, owner, "kick");
      const key = nameKey(login);
      const refusal = `Cannot kick "${login}" from group "${group.name}"`;
      const member = requireOtherMember(group, login, refusal);
      if (key === group.ownerKey) {
        throw new ChatError("forbidden", `${refusal}: that is you; use /group leave`);
      }
      fanOut.pushToMembers(group, groupEvent(group, "kick", member, owner.login), owner.session);
      groups.removeMember(group, key);
      store.removeMember(group.key, key);
      // A kick lasts: the kicked login may not rejoin until the owner lifts it (/group unban).
      group.policy.banned = { ...group.policy.banned, [key]: member };
      store.setGroupPolicy(group.key, group.policy);
      log.info("group_kick", { group: group.name, login: member, by: owner.login });
      const kicked = { group: group.name, login: member, reason: "kick" as const, by: owner.login };
      events.emit("group_leave", kicked, () => userOf({ login: member, session: "" }));
    },

    transferGroup(owner, name, login) {
      const group = requireGroup(groups, name, "hand over");
      requireOwner(group, owner, "hand over ownership");
      const refusal = `Cannot hand group "${group.name}" to "${login}"`;
      const member = requireOtherMember(group, login, refusal);
      group.ownerKey = nameKey(login);
      group.owner = member;
      store.setOwner(group.key, group.ownerKey);
      fanOut.pushToMembers(group, groupEvent(group, "owner", member, owner.login), owner.session);
    },

    groupsCleared() {
      groups.clear();
    },
  };
}

/** A `banned` or `invite_only` error unless the account may join the group. */
function requireAdmitted(group: Group, key: string): void {
  if (group.policy.banned?.[key] !== undefined) {
    throw new ChatError(
      "banned",
      `Cannot join group "${group.name}": you are banned from it; ask its owner ${group.owner}`,
    );
  }
  if (group.policy.inviteOnly && !group.policy.invited?.includes(key)) {
    throw new ChatError(
      "invite_only",
      `Cannot join group "${group.name}": it is invite-only; ask its owner ${group.owner}`,
    );
  }
}

/** A group as plugins see it. */
export function info(group: Group): GroupInfo {
  const found: GroupInfo = {
    name: group.name,
    owner: group.owner,
    members: group.members.size,
    created: group.created,
  };
  if (group.policy.topic) found.topic = group.policy.topic;
  if (group.policy.inviteOnly) found.inviteOnly = true;
  return found;
}

/** A `limit_reached` error naming the action when `account` is in as many groups as allowed. */
function requireRoom(
  deps: Pick<PartDeps, "groups" | "maxGroupsPerUser">,
  account: string,
  action: string,
): void {
  if (deps.groups.groupsOf(account).length >= deps.maxGroupsPerUser) {
    throw new ChatError(
      "limit_reached",
      `Cannot ${action}: you are in ${plural(deps.maxGroupsPerUser, "group")}, the most allowed`,
    );
  }
}

/** The member `login` of `group`, or a `not_member` error built by `refusal`. */
function requireOtherMember(group: Group, login: string, refusal: string): string {
  const member = group.members.get(nameKey(login));
  if (member === undefined) throw new ChatError("not_member", `${refusal}: not a member`);
  return member;
}
