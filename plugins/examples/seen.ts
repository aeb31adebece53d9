// Example drop-in plugin: `/seen bob` tells when bob was last online, and it greets people at login.
// Shows the plugin API's events (login, logout), options (`seen.greeting`) and its own storage.

import type { Plugin } from "chatz/plugin";

const plugin: Plugin = {
  name: "seen",
  description: "Tells when someone was last online, and greets people who log in",
  setup(ctx) {
    // `--plugin-option 'seen.greeting=Hello {login}'`; no greeting without it.
    const greeting = ctx.options.greeting;
    ctx.on("login", (event, chat) => {
      if (event.first && greeting) chat.tell(greeting.replaceAll("{login}", event.login));
    });
    ctx.on("logout", (event) => {
      if (event.last) ctx.storage.set(event.login, Date.now());
    });
    // /seen <login>
    ctx.command({
      name: "seen",
      summary: "Tell when someone was last online",
      params: [{ name: "login", kind: "login" }],
      examples: ["/seen bob"],
      handler(call) {
        const login = call.chat.account(call.args.login);
        const missing = `Cannot find "${call.args.login}": no such user`;
        if (!login) return call.fail("no_such_user", missing);
        if (call.chat.online().some((u) => u.login === login)) return call.ok(`${login} is online`);
        const at = ctx.storage.get(login);
        if (typeof at !== "number") return call.ok(`${login} has not been seen here yet`);
        return call.ok(`${login} was last seen ${new Date(at).toISOString()}`, { login, at });
      },
    });
  },
};

export default plugin;
