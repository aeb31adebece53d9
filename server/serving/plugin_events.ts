// The events plugins subscribe to with ctx.on: login, logout, group join and leave, message stored.
// Handlers run after the fact; whatever they throw or reject with is logged and changes nothing.

import type { EventHandler, PluginEvents, UserServices } from "../../protocol/plugin.ts";
import type { Logger } from "../log.ts";

/** Every kind of event, for checking what a plugin subscribes to. */
export const EVENT_KINDS: readonly (keyof PluginEvents)[] = [
  "login",
  "logout",
  "group_join",
  "group_leave",
  "message_stored",
];

type Subscriber<K extends keyof PluginEvents> = { plugin: string; handler: EventHandler<K> };
type Subscribers = { [K in keyof PluginEvents]: Subscriber<K>[] };

/**
 * Plugins' event handlers by kind.
 *
 * @example
 * ```ts
 * import { createLogger } from "../log.ts";
 * import { EventBus } from "./plugin_events.ts";
 * const bus = new EventBus(createLogger("info", () => {}));
 * bus.on("greeter", "login", (event) => console.log(event.login));
 * ```
 */
export class EventBus {
  readonly #subscribers: Subscribers = {
    login: [],
    logout: [],
    group_join: [],
    group_leave: [],
    message_stored: [],
  };

  /** Logs what handlers throw. */
  constructor(readonly log: Logger) {}

  /** Subscribes a plugin's handler; throws on a kind that does not exist. */
  on<K extends keyof PluginEvents>(plugin: string, kind: K, handler: EventHandler<K>): void {
    if (!EVENT_KINDS.includes(kind)) {
      throw new Error(
        `Cannot subscribe to "${String(kind).slice(0, 40)}": no such event; events are ${
          EVENT_KINDS.join(", ")
        }`,
      );
    }
    if (typeof handler !== "function") {
      throw new Error(`Cannot subscribe to "${kind}": the handler is not a function`);
    }
    (this.#subscribers[kind] as Subscriber<K>[]).push({ plugin, handler });
  }

  /** Whether anyone listens to a kind: events cost nothing to make when no one does. */
  has(kind: keyof PluginEvents): boolean {
    return this.#subscribers[kind].length > 0;
  }

  /** Runs every handler of a kind on a frozen event, with services bound to the event's user. */
  emit<K extends keyof PluginEvents>(
    kind: K,
    event: PluginEvents[K],
    services: () => UserServices,
  ): void {
    const list = this.#subscribers[kind] as Subscriber<K>[];
    if (list.length === 0) return;
    Object.freeze(event);
    const chat = services();
    for (const { plugin, handler } of list) {
      const failed = (error: unknown) =>
        this.log.error("plugin_failed", {
          plugin,
          event: kind,
          error: error instanceof Error ? error.stack ?? error.message : String(error),
        });
      try {
        const result = handler(event, chat);
        if (result instanceof Promise) result.catch(failed);
      } catch (error) {
        failed(error);
      }
    }
  }

  /** Forgets a plugin's handlers, for a plugin whose setup failed half way. */
  forget(plugin: string): void {
    for (const kind of EVENT_KINDS) {
      const list = this.#subscribers[kind] as Subscriber<typeof kind>[];
      const kept = list.filter((s) => s.plugin !== plugin);
      list.length = 0;
      list.push(...kept);
    }
  }
}
