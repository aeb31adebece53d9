// What a group's owner sets beyond membership: bans, a topic, and invite-only admission with invitations.
// Kept in the group's policy (memory and store); members hear of bans and topics as group events.

import { MAX_TEXT_LENGTH, nameKey, type NoticeEvent } from "../../../protocol/mod.ts";
import type { CoreServices } from "../bound_services.ts";
import { ChatError } from "../../errors.ts";
import type { Group } from "../groups.ts";
import type { PartDeps } from "./deps.ts";
import type { FanOut } from "./fan_out.ts";
import { groupEventJson, requireGroup, requireOwner } from "./group_services.ts";

/** Longest group topic, in characters. */
export const MAX_TOPIC_LENGTH = 200;

/** The owner's group moderation services. */
export type GroupModeration = Pick<
  CoreServices,
  "banFromGroup" | "unbanFromGroup" | "setGroupTopic" | "inviteToGroup" | "openGroup"
>;

/**
 * Builds the owner's group moderation over the group table, the store and the fan-out. Long only as
 * a list of five short methods sharing save() and accountLogin().
 */
export function createGroupModeration(deps: PartDeps, fanOut: FanOut): GroupModeration {
  const { store, groups, log, now } = deps;

  function save(group: Group): void {
    store.setGroupPolicy(group.key, group.policy);
  }

  /** The registered spelling of a login, or a `no_such_user` error. */
  function accountLogin(login: string, refusal: string): string {
    const found = store.account(nameKey(login))?.login;
    if (!found) throw new ChatError("no_such_user", `${refusal}: no such user`);
    return found;
  }

  return {
    // /group ban <group> <login>
    banFromGroup(owner, name, login) {
      const group = requireGroup(groups, name, "ban from");
      requireOwner(group, owner, "ban");
      const refusal = `Cannot ban "${login}" from group "${group.name}"`;
      const key = nameKey(login);
      if (key === group.ownerKey) throw new ChatError("forbidden", `${refusal}: that is you`);
      const spelled = group.members.get(key) ?? accountLogin(login, refusal);
      group.policy.banned = { ...group.policy.banned, [key]: spelled };
      group.policy.invited = group.policy.invited?.filter((k) => k !== key);
      const event = groupEventJson(group, {
        action: "ban",
        login: spelled,
        by: owner.login,
        ts: now(),
      });
      fanOut.pushToMembers(group, event, owner.session);
      if (group.members.has(key)) {
        groups.removeMember(group, key);
        store.removeMember(group.key, key);
        fanOut.pushToAccount(key, event);
      }
      save(group);
      log.info("group_ban", { group: group.name, login: spelled, by: owner.login });
    },

    // /group unban <group> <login>
    unbanFromGroup(owner, name, login) {
      const group = requireGroup(groups, name, "unban from");
      requireOwner(group, owner, "unban");
      const key = nameKey(login);
      if (group.policy.banned?.[key] === undefined) {
        throw new ChatError(
          "bad_arguments",
          `Cannot unban "${login}" from group "${group.name}": not banned there`,
        );
      }
      const { [key]: _lifted, ...rest } = group.policy.banned;
      group.policy.banned = rest;
      save(group);
      log.info("group_unban", { group: group.name, login, by: owner.login });
    },

    // /group topic <group> [topic...]
    setGroupTopic(owner, name, topic) {
      const group = requireGroup(groups, name, "set the topic of");
      requireOwner(group, owner, "set the topic");
      const text = topic.trim();
      if (text.length > MAX_TOPIC_LENGTH || text.length > MAX_TEXT_LENGTH) {
        throw new ChatError(
          "too_large",
          `Cannot set the topic of group "${group.name}": over ${MAX_TOPIC_LENGTH} characters`,
        );
      }
      group.policy.topic = text || undefined;
      save(group);
      const event = groupEventJson(group, {
        action: "topic",
        login: owner.login,
        topic: text,
        ts: now(),
      });
      fanOut.pushToMembers(group, event, owner.session);
    },

    // /group invite <group> <login>
    inviteToGroup(owner, name, login) {
      const group = requireGroup(groups, name, "invite to");
      requireOwner(group, owner, "invite");
      const refusal = `Cannot invite "${login}" to group "${group.name}"`;
      const key = nameKey(login);
      const spelled = accountLogin(login, refusal);
      if (group.members.has(key)) {
        throw new ChatError("already_member", `${refusal}: already a member`);
      }
      // An invitation lifts a ban: the owner changed their mind.
      if (group.policy.banned?.[key] !== undefined) {
        const { [key]: _lifted, ...rest } = group.policy.banned;
        group.policy.banned = rest;
      }
      const wasOpen = !group.policy.inviteOnly;
      group.policy.inviteOnly = true;
      if (!group.policy.invited?.includes(key)) {
        group.policy.invited = [...group.policy.invited ?? [], key];
      }
      save(group);
      const notice: NoticeEvent = {
        type: "notice",
        text: `${owner.login} invited you to group ${group.name}: /group join ${group.name}`,
        ts: now(),
      };
      fanOut.pushToAccount(key, JSON.stringify(notice));
      log.info("group_invite", { group: group.name, login: spelled, by: owner.login });
      return { login: spelled, madeInviteOnly: wasOpen };
    },

    // /group open <group>
    openGroup(owner, name) {
      const group = requireGroup(groups, name, "open");
      requireOwner(group, owner, "open the group");
      const changed = group.policy.inviteOnly === true;
      group.policy.inviteOnly = undefined;
      group.policy.invited = undefined;
      save(group);
      return changed;
    },
  };
}
