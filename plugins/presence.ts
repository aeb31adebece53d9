// Built-in plugin: who is online and which groups exist.

import type { Plugin } from "../protocol/plugin.ts";

const plugin: Plugin = {
  name: "presence",
  description: "See who is online and which groups exist",
  setup(ctx) {
    // /list
    ctx.command({
      name: "list",
      aliases: ["who"],
      summary: "Show who is online and which groups exist",
      handler(call) {
        const users = call.chat.online();
        const groups = call.chat.groups();
        const text = [
          `Online (${users.length}): ${users.map((u) => u.login).join(", ")}`,
          groups.length === 0
            ? "Groups: none"
            : `Groups (${groups.length}): ${
              groups.map((g) => `${g.name} (${g.members})`).join(", ")
            }`,
        ].join("\n");
        return call.ok(text, { users, groups });
      },
    });
  },
};

export default plugin;
