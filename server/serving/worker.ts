// The serving thread: a Deno Worker that runs the ROUTER, the broker and the plugins.
// It takes a start message, answers operator calls, forwards its log records, and stops on request.

import { BUILTIN_PLUGINS } from "../../plugins/mod.ts";
import { ChatError } from "../errors.ts";
import { type AdjustableLogger, createLogger } from "../log.ts";
import { type RunningServer, startServer } from "./serve.ts";
import type { FromServingThread, ServerCall, ToServingThread } from "../thread_protocol.ts";

const port = self as unknown as {
  postMessage(message: FromServingThread): void;
  onmessage: ((event: { data: ToServingThread }) => void) | null;
};
const post = (message: FromServingThread) => port.postMessage(message);
let server: RunningServer | undefined;
let log: AdjustableLogger = createLogger("info", (record) => post({ type: "log", record }));

// A plugin's timer callback that throws, or a promise of its that nobody awaits and that rejects,
// would otherwise end this thread and every session with it: they are logged and the thread goes on.
self.addEventListener("error", (event) => {
  event.preventDefault();
  logUncaught(event.error ?? event.message);
});
self.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  logUncaught(event.reason);
});

/** Logs an error nothing caught, as the failure of the drop-in plugin its stack names if any. */
function logUncaught(error: unknown): void {
  const stack = error instanceof Error ? error.stack ?? error.message : String(error);
  const plugin = server?.plugins.loaded.find((p) =>
    p.source !== "builtin" && stack.includes(p.source)
  );
  if (plugin) log.error("plugin_failed", { plugin: plugin.name, uncaught: true, error: stack });
  else log.error("uncaught_error", { error: stack });
}

function call(server: RunningServer, request: ServerCall): unknown {
  switch (request.method) {
    case "status":
      return server.status();
    case "users":
      return server.users();
    case "groups":
      return server.groups();
    case "pause":
    case "resume": {
      const changed = request.method === "pause" ? server.pause() : server.resume();
      const others = request.all ? server.pauseOthers(request.method === "pause") : 0;
      return { changed, others };
    }
    case "kick":
      return server.kick(request.login, request.reason);
    case "broadcast":
      return server.broadcast(request.text);
    case "clearIdentities":
      return server.clearIdentities();
    case "userAdd":
      return server.operator.addUser(request.login, request.password);
    case "userPasswd":
      return server.operator.setPassword(request.login, request.password);
    case "userDel":
      return server.operator.deleteUser(request.login);
    case "userList":
      return server.operator.listUsers(request.pattern);
    case "userShow":
      return server.operator.showUser(request.login);
    case "userRole":
      return server.operator.setRole(request.login, request.role);
    case "inviteCreate":
      return server.operator.createInvite(request);
    case "invites":
      return server.operator.invites();
    case "ban":
      return server.operator.ban(request.target, request);
    case "unban":
      return server.operator.unban(request.target);
    case "bans":
      return server.operator.bans();
    case "metrics":
      return server.metrics();
    case "reconfigure":
      log.setLevel(request.logLevel);
      return server.reconfigure(request.settings);
  }
}

port.onmessage = async ({ data: message }) => {
  switch (message.type) {
    case "start": {
      const { logLevel, ...options } = message.options;
      try {
        server = await startServer({
          ...options,
          builtins: BUILTIN_PLUGINS.map((plugin) => ({ source: "builtin", plugin })),
          log: log = createLogger(logLevel, (record) => post({ type: "log", record })),
        });
        post({ type: "ready", endpoint: server.endpoint, plugins: server.plugins });
      } catch (error) {
        post({ type: "failed", error: (error as Error).message });
      }
      return;
    }
    case "call":
      if (!server) {
        return post({
          type: "result",
          id: message.id,
          ok: false,
          error: "The server is not running",
        });
      }
      try {
        const value = await call(server, message.call);
        post({ type: "result", id: message.id, ok: true, value });
      } catch (error) {
        const code = error instanceof ChatError ? error.code : undefined;
        post({ type: "result", id: message.id, ok: false, error: (error as Error).message, code });
      }
      return;
    case "stop":
      await server?.stop(message.reason);
      post({ type: "stopped" });
      return;
  }
};
