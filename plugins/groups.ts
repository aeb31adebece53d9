// Built-in plugin: group chats. Create, join, leave, list, members, talk, and the owner's kick, ban,
// topic, invitations and hand-over. A joiner sees the latest messages, shown on the group_join event.

import {
  ChatError,
  type ChatServices,
  type Plugin,
  type PluginContext,
} from "../protocol/plugin.ts";
import { plural } from "../protocol/plural.ts";

const GROUP = [{ name: "group", kind: "group" }] as const;
/** Messages of a group shown to someone who just joined it. */
const JOIN_HISTORY = 20;

const plugin: Plugin = {
  name: "groups",
  description: "Group chats that users create, join and leave",
  setup(ctx) {
    // Whoever joins, by this plugin's command or another's, catches up on the conversation.
    ctx.on("group_join", (event, chat) => {
      chat.showHistory({ scope: "group", group: event.group }, { limit: JOIN_HISTORY });
    });
    memberCommands(ctx);
    ownerCommands(ctx);
  },
};

/** An owner's command on one member or login of a group: the chat call, then its reply. */
function onLogin(ctx: PluginContext, command: {
  name: string;
  summary: string;
  example: string;
  act: (chat: ChatServices, group: string, login: string) => void;
  says: (login: string, group: string) => string;
}) {
  ctx.command({
    name: command.name,
    summary: command.summary,
    params: [...GROUP, { name: "login", kind: "login" }],
    examples: [command.example],
    handler(call) {
      command.act(call.chat, call.args.group, call.args.login);
      const [group, login] = spelled(call.chat, call.args.group, call.args.login);
      return call.ok(command.says(login, group));
    },
  });
}

/** A group's name as the server spells it (PROTOCOL.md §3.1), or as given when it has none. */
function groupName(chat: ChatServices, group: string): string {
  return chat.group(group)?.name ?? group;
}

/**
 * A group and a login as the server spells them: replies use the display spelling (PROTOCOL.md
 * §3.1), not what was typed.
 */
function spelled(chat: ChatServices, group: string, login: string): [string, string] {
  return [groupName(chat, group), chat.account(login) ?? login];
}

export default plugin;

/** What every member does: create, join, leave, list, members, and talk. */
function memberCommands(ctx: PluginContext) {
  // /group create <group>
  ctx.command({
    name: "group create",
    summary: "Create a group and become its owner and first member",
    params: GROUP,
    examples: ["/group create ops"],
    handler(call) {
      const group = call.chat.createGroup(call.args.group);
      return call.ok(`Created group ${group.name}`, group);
    },
  });
  // /group join <group>
  ctx.command({
    name: "group join",
    aliases: ["join"],
    summary: "Join a group; its recent messages are shown as history",
    params: GROUP,
    examples: ["/group join ops"],
    handler(call) {
      const group = joinOrSayHow(call.chat, call.args.group);
      const topic = group.topic ? `; topic: ${group.topic}` : "";
      return call.ok(
        `Joined group ${group.name} (${plural(group.members, "member")})${topic}`,
        group,
      );
    },
  });
  // /group leave <group>
  ctx.command({
    name: "group leave",
    aliases: ["part"],
    summary: "Leave a group",
    params: GROUP,
    examples: ["/group leave ops"],
    handler(call) {
      // The group may go with its last member: its spelling is read first.
      const shown = call.chat.group(call.args.group)?.name ?? call.args.group;
      call.chat.leaveGroup(call.args.group);
      return call.ok(`Left group ${shown}`);
    },
  });
  // /group list
  ctx.command({
    name: "group list",
    summary: "List every group with its member count, marking yours",
    handler(call) {
      const mine = new Set(call.chat.groupsOf(call.caller.login));
      const groups = call.chat.groups().map((g) => ({ ...g, member: mine.has(g.name) }));
      const lines = groups.map((g) =>
        `${g.member ? "*" : " "} ${g.name} (${plural(g.members, "member")}, owner ${g.owner}${
          g.inviteOnly ? ", invite-only" : ""
        })${g.topic ? `: ${g.topic}` : ""}`
      );
      const text = groups.length === 0
        ? "No groups yet; /group create NAME starts one"
        : ["Groups (* = yours):", ...lines].join("\n");
      return call.ok(text, { groups });
    },
  });
  // /group members <group>
  ctx.command({
    name: "group members",
    aliases: ["members"],
    summary: "List the members of a group",
    params: GROUP,
    examples: ["/group members ops"],
    handler(call) {
      const group = call.chat.group(call.args.group);
      const members = call.chat.members(call.args.group);
      return call.ok(`${group?.name} (owner ${group?.owner}): ${members.join(", ")}`, {
        group: group?.name,
        owner: group?.owner,
        members,
      });
    },
  });
  // /group say <group> <text>
  ctx.command({
    name: "group say",
    aliases: ["g"],
    summary: "Send a message to a group you are in",
    params: [...GROUP, { name: "text", kind: "text" }],
    examples: ["/g ops deploy is done"],
    handler(call) {
      const sent = call.chat.sendGroup(call.args.group, call.args.text);
      return call.ok(undefined, sent);
    },
  });
}

/** What a group's owner does: kick, ban, unban, topic, invitations, and handing the group over. */
function ownerCommands(ctx: PluginContext) {
  onLogin(ctx, {
    name: "group kick",
    summary: "Owner: remove a member, who cannot rejoin until /group unban",
    example: "/group kick ops mallory",
    act: (chat, group, login) => chat.kickFromGroup(group, login),
    says: (login, group) => `Removed ${login} from ${group}`,
  });
  onLogin(ctx, {
    name: "group ban",
    summary: "Owner: remove a login from a group and keep it out until /group unban",
    example: "/group ban ops mallory",
    act: (chat, group, login) => chat.banFromGroup(group, login),
    says: (login, group) => `Banned ${login} from ${group}`,
  });
  onLogin(ctx, {
    name: "group unban",
    summary: "Owner: let a banned (or kicked) login join again",
    example: "/group unban ops mallory",
    act: (chat, group, login) => chat.unbanFromGroup(group, login),
    says: (login, group) => `${login} may join ${group} again`,
  });
  // /group topic <group> [topic]
  ctx.command({
    name: "group topic",
    summary: "Owner: set the topic shown at join and in /group list (none given: clear it)",
    params: [...GROUP, { name: "topic", kind: "text", optional: true }],
    examples: ["/group topic ops deploys and incidents"],
    handler(call) {
      const topic = String(call.args.topic ?? "");
      call.chat.setGroupTopic(call.args.group, topic);
      const group = groupName(call.chat, call.args.group);
      return call.ok(topic.trim() ? `Topic of ${group} set` : `Topic of ${group} cleared`);
    },
  });
  // /group invite <group> <login>
  ctx.command({
    name: "group invite",
    summary: "Owner: invite a login; the group becomes invite-only (/group open undoes it)",
    params: [...GROUP, { name: "login", kind: "login" }],
    examples: ["/group invite ops alice"],
    handler(call) {
      const done = call.chat.inviteToGroup(call.args.group, call.args.login);
      const group = groupName(call.chat, call.args.group);
      const note = done.madeInviteOnly ? `; ${group} is now invite-only` : "";
      return call.ok(`Invited ${done.login} to ${group}${note}`, done);
    },
  });
  // /group open <group>
  ctx.command({
    name: "group open",
    summary: "Owner: let anyone join again (ends invite-only)",
    params: GROUP,
    examples: ["/group open ops"],
    handler(call) {
      const changed = call.chat.openGroup(call.args.group);
      const group = groupName(call.chat, call.args.group);
      return call.ok(changed ? `${group} is open to all` : `${group} was open already`);
    },
  });
  onLogin(ctx, {
    name: "group owner",
    summary: "Hand a group you own over to another member",
    example: "/group owner ops alice",
    act: (chat, group, login) => chat.transferGroup(group, login),
    says: (login, group) => `${login} now owns ${group}`,
  });
}

/**
 * Joins `name`; a group that does not exist is refused with the command that makes it, since
 * IRC users expect `/join` to create a channel.
 */
function joinOrSayHow(chat: ChatServices, name: string) {
  try {
    return chat.joinGroup(name);
  } catch (error) {
    if (!(error instanceof ChatError) || error.code !== "no_such_group") throw error;
    throw new ChatError("no_such_group", `${error.message}; /group create ${name} makes it`);
  }
}
