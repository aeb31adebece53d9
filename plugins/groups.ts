// Built-in plugin: group chats. Create, join, leave, list, members, talk, and the owner's kick and hand-over.
// Someone who joins sees the group's latest messages, shown on the group_join event as a plugin would.

import type { Plugin } from "../protocol/plugin.ts";

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
        const group = call.chat.joinGroup(call.args.group);
        return call.ok(`Joined group ${group.name} (${group.members} members)`, group);
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
        call.chat.leaveGroup(call.args.group);
        return call.ok(`Left group ${call.args.group}`);
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
          `${g.member ? "*" : " "} ${g.name} (${g.members} members, owner ${g.owner})`
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
    // /group kick <group> <login>
    ctx.command({
      name: "group kick",
      summary: "Remove a member from a group you own",
      params: [...GROUP, { name: "login", kind: "login" }],
      examples: ["/group kick ops mallory"],
      handler(call) {
        call.chat.kickFromGroup(call.args.group, call.args.login);
        return call.ok(`Removed ${call.args.login} from ${call.args.group}`);
      },
    });
    // /group owner <group> <login>
    ctx.command({
      name: "group owner",
      summary: "Hand a group you own over to another member",
      params: [...GROUP, { name: "login", kind: "login" }],
      examples: ["/group owner ops alice"],
      handler(call) {
        call.chat.transferGroup(call.args.group, call.args.login);
        return call.ok(`${call.args.login} now owns ${call.args.group}`);
      },
    });
  },
};

export default plugin;
