// Built-in plugin: account settings. `/passwd` changes the caller's password.

import type { Plugin } from "../protocol/plugin.ts";

const plugin: Plugin = {
  name: "account",
  description: "Manage your own account",
  setup(ctx) {
    // /passwd <current> <new>
    ctx.command({
      name: "passwd",
      summary:
        "Change your password (clients ask for both without echo); other sessions' tokens stop working",
      params: [
        { name: "current", kind: "secret", prompt: "Current password" },
        { name: "new", kind: "secret", prompt: "New password", confirm: true },
      ],
      async handler(call) {
        const token = await call.chat.changePassword(call.args.current, call.args.new);
        // The session's new token: the client resumes with it after a reconnect.
        return call.ok("Password changed", { token });
      },
    });
  },
};

export default plugin;
