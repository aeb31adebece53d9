// Built-in plugin: the public room every logged-in user is in. Plain lines a client sends are `/say`.
// Also `/me` for actions, IRC-style.

import type { Plugin } from "../protocol/plugin.ts";

const plugin: Plugin = {
  name: "public-room",
  description: "Talk in the public room that reaches everyone online",
  setup(ctx) {
    // /say <text>
    ctx.command({
      name: "say",
      summary: "Send a message to the public room (what a line without a slash does)",
      params: [{ name: "text", kind: "text" }],
      examples: ["/say hello everyone"],
      handler(call) {
        const sent = call.chat.sendPublic(call.args.text);
        return call.ok(undefined, sent);
      },
    });
    // /me <text>
    ctx.command({
      name: "me",
      summary: "Describe an action in the public room, shown as `* you text`",
      params: [{ name: "text", kind: "text" }],
      examples: ["/me waves"],
      handler(call) {
        const sent = call.chat.sendPublic(call.args.text, { action: true });
        return call.ok(undefined, sent);
      },
    });
  },
};

export default plugin;
