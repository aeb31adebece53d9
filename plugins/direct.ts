// Built-in plugin: direct messages to one person by login, kept for them while they are offline.

import type { Plugin } from "../protocol/plugin.ts";

const plugin: Plugin = {
  name: "direct",
  description: "Send private messages to one user by login",
  setup(ctx) {
    // /msg <login> <text>
    ctx.command({
      name: "msg",
      aliases: ["m", "tell"],
      summary: "Send a private message; an offline user gets it at next login",
      params: [{ name: "login", kind: "login" }, { name: "text", kind: "text" }],
      examples: ["/msg bob are you there?"],
      handler(call) {
        const to = call.args.login;
        const sent = call.chat.sendDirect(to, call.args.text);
        return call.ok(
          sent.queued
            ? `${call.chat.account(to)} is offline; they get it at their next login`
            : undefined,
          sent,
        );
      },
    });
  },
};

export default plugin;
