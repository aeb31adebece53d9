// The services a plugin gets, bound to one user: a command's caller or the user an event is about.
// Nothing here takes a sender: the actor is fixed when the services are made, out of a plugin's reach.

import type {
  Caller,
  ChatServices,
  GroupInfo,
  HistoryQuery,
  HistoryTarget,
  MessageEvent,
  OnlineUser,
  SendOptions,
  Sent,
  ServerVoice,
  UserServices,
} from "../../protocol/plugin.ts";
import type { Logger } from "../log.ts";

/**
 * Who acts through bound services: the user, the client message id of the command (when it gave
 * one) and how many messages the command sent so far, which numbers each send's stored id.
 */
export interface Actor {
  readonly login: string;
  readonly session: string;
  readonly cid?: string;
  sends?: number;
}

/** The chat core's services, each taking the actor explicitly: only this module and tests call them. */
export interface CoreServices {
  sendPublic(from: Actor, text: string, opts?: SendOptions): Sent;
  sendDirect(from: Actor, to: string, text: string, opts?: SendOptions): Sent;
  sendGroup(from: Actor, group: string, text: string, opts?: SendOptions): Sent;
  /** A notice to the actor's session, or to all of the login's sessions when that one is gone. */
  tell(to: Actor, text: string): void;
  /** A notice to every session of one login. */
  notify(login: string, text: string): void;
  /** A notice to every session. */
  broadcast(text: string): void;
  online(): OnlineUser[];
  account(login: string): string | undefined;
  groups(): GroupInfo[];
  group(name: string): GroupInfo | undefined;
  members(group: string): string[];
  groupsOf(login: string): string[];
  createGroup(owner: Actor, name: string): GroupInfo;
  joinGroup(caller: Actor, name: string): GroupInfo;
  leaveGroup(caller: Actor, name: string): void;
  kickFromGroup(owner: Actor, name: string, login: string): void;
  transferGroup(owner: Actor, name: string, login: string): void;
  banFromGroup(owner: Actor, name: string, login: string): void;
  unbanFromGroup(owner: Actor, name: string, login: string): void;
  setGroupTopic(owner: Actor, name: string, topic: string): void;
  inviteToGroup(
    owner: Actor,
    name: string,
    login: string,
  ): { login: string; madeInviteOnly: boolean };
  openGroup(owner: Actor, name: string): boolean;
  operatorKick(by: Actor, login: string, reason: string): number;
  operatorBan(by: Actor, target: string, options: { durationMs?: number; reason: string }): string;
  operatorUnban(by: Actor, target: string): void;
  operatorBroadcast(by: Actor, text: string): void;
  history(caller: Actor, target: HistoryTarget, query: HistoryQuery): MessageEvent[];
  /** Pushes history to the actor's session; returns how many messages. */
  showHistory(caller: Actor, target: HistoryTarget, query: HistoryQuery): number;
  changePassword(caller: Actor, current: string, next: string): Promise<string>;
}

/**
 * A string argument as it is; anything else is a plugin's mistake (such as passing a caller where
 * the text goes, as the old API had it), answered `plugin_failed`.
 */
function str(value: unknown, what: string): string {
  if (typeof value === "string") return value;
  throw new TypeError(`Cannot use ${what}: expected a string, got ${typeof value}`);
}

let coreOf: (services: BoundUserServices) => CoreServices;
let actorOf: (services: BoundUserServices) => Actor;

/**
 * Services bound to the user an event is about: reading, and telling that user something.
 *
 * @example
 * ```ts
 * import { BoundUserServices, type CoreServices } from "./bound_services.ts";
 * declare const core: CoreServices;
 * const chat = new BoundUserServices(core, { login: "alice", session: "s1" });
 * chat.tell("Welcome");
 * ```
 */
export class BoundUserServices implements UserServices {
  // Private fields: a plugin holding these services cannot read or swap the actor.
  readonly #core: CoreServices;
  readonly #actor: Actor;

  /** Binds `core`'s services to `actor`. */
  constructor(core: CoreServices, actor: Actor) {
    this.#core = core;
    this.#actor = actor;
  }

  static {
    // Module-private readers for the subclass: a getter, even a protected one, would be a plugin's
    // way to the actor at run time.
    coreOf = (services) => services.#core;
    actorOf = (services) => services.#actor;
  }

  /** See UserServices.tell. */
  tell(text: string): void {
    this.#core.tell(this.#actor, str(text, "the notice text"));
  }
  /** See UserServices.showHistory. */
  showHistory(target: HistoryTarget, query: HistoryQuery): number {
    return this.#core.showHistory(this.#actor, target, query);
  }
  /** See UserServices.history. */
  history(target: HistoryTarget, query: HistoryQuery): MessageEvent[] {
    return this.#core.history(this.#actor, target, query);
  }
  /** See UserServices.online. */
  online(): OnlineUser[] {
    return this.#core.online();
  }
  /** See UserServices.account. */
  account(login: string): string | undefined {
    return this.#core.account(str(login, "the login"));
  }
  /** See UserServices.groups. */
  groups(): GroupInfo[] {
    return this.#core.groups();
  }
  /** See UserServices.group. */
  group(name: string): GroupInfo | undefined {
    return this.#core.group(str(name, "the group name"));
  }
  /** See UserServices.members. */
  members(group: string): string[] {
    return this.#core.members(str(group, "the group name"));
  }
  /** See UserServices.groupsOf. */
  groupsOf(login: string): string[] {
    return this.#core.groupsOf(str(login, "the login"));
  }
}

/**
 * Services bound to a command's caller: what they send, the caller sends.
 *
 * @example
 * ```ts
 * import { BoundChatServices, type CoreServices } from "./bound_services.ts";
 * declare const core: CoreServices;
 * const chat = new BoundChatServices(core, { login: "alice", session: "s1", cid: "c7" });
 * chat.sendPublic("hello");
 * ```
 */
export class BoundChatServices extends BoundUserServices implements ChatServices {
  /** See ChatServices.sendPublic. */
  sendPublic(text: string, opts?: SendOptions): Sent {
    return coreOf(this).sendPublic(actorOf(this), str(text, "the message text"), opts);
  }
  /** See ChatServices.sendDirect. */
  sendDirect(to: string, text: string, opts?: SendOptions): Sent {
    return coreOf(this).sendDirect(
      actorOf(this),
      str(to, "the recipient"),
      str(text, "the message text"),
      opts,
    );
  }
  /** See ChatServices.sendGroup. */
  sendGroup(group: string, text: string, opts?: SendOptions): Sent {
    return coreOf(this).sendGroup(
      actorOf(this),
      str(group, "the group name"),
      str(text, "the message text"),
      opts,
    );
  }
  /** See ChatServices.createGroup. */
  createGroup(name: string): GroupInfo {
    return coreOf(this).createGroup(actorOf(this), str(name, "the group name"));
  }
  /** See ChatServices.joinGroup. */
  joinGroup(name: string): GroupInfo {
    return coreOf(this).joinGroup(actorOf(this), str(name, "the group name"));
  }
  /** See ChatServices.leaveGroup. */
  leaveGroup(name: string): void {
    coreOf(this).leaveGroup(actorOf(this), str(name, "the group name"));
  }
  /** See ChatServices.kickFromGroup. */
  kickFromGroup(name: string, login: string): void {
    coreOf(this).kickFromGroup(actorOf(this), str(name, "the group name"), str(login, "the login"));
  }
  /** See ChatServices.transferGroup. */
  transferGroup(name: string, login: string): void {
    coreOf(this).transferGroup(actorOf(this), str(name, "the group name"), str(login, "the login"));
  }
  /** See ChatServices.banFromGroup. */
  banFromGroup(name: string, login: string): void {
    coreOf(this).banFromGroup(actorOf(this), str(name, "the group name"), str(login, "the login"));
  }
  /** See ChatServices.unbanFromGroup. */
  unbanFromGroup(name: string, login: string): void {
    coreOf(this).unbanFromGroup(
      actorOf(this),
      str(name, "the group name"),
      str(login, "the login"),
    );
  }
  /** See ChatServices.setGroupTopic. */
  setGroupTopic(name: string, topic: string): void {
    coreOf(this).setGroupTopic(actorOf(this), str(name, "the group name"), str(topic, "the topic"));
  }
  /** See ChatServices.inviteToGroup. */
  inviteToGroup(name: string, login: string): { login: string; madeInviteOnly: boolean } {
    return coreOf(this).inviteToGroup(
      actorOf(this),
      str(name, "the group name"),
      str(login, "the login"),
    );
  }
  /** See ChatServices.openGroup. */
  openGroup(name: string): boolean {
    return coreOf(this).openGroup(actorOf(this), str(name, "the group name"));
  }
  /** See ChatServices.operatorKick. */
  operatorKick(login: string, reason: string): number {
    return coreOf(this).operatorKick(
      actorOf(this),
      str(login, "the login"),
      str(reason, "the reason"),
    );
  }
  /** See ChatServices.operatorBan. */
  operatorBan(target: string, options: { durationMs?: number; reason: string }): string {
    const durationMs = options?.durationMs;
    if (durationMs !== undefined && (!Number.isSafeInteger(durationMs) || durationMs <= 0)) {
      throw new TypeError("Cannot use the duration: expected a positive whole number of ms");
    }
    return coreOf(this).operatorBan(actorOf(this), str(target, "the target"), {
      durationMs,
      reason: str(options?.reason ?? "", "the reason"),
    });
  }
  /** See ChatServices.operatorUnban. */
  operatorUnban(target: string): void {
    coreOf(this).operatorUnban(actorOf(this), str(target, "the target"));
  }
  /** See ChatServices.operatorBroadcast. */
  operatorBroadcast(text: string): void {
    coreOf(this).operatorBroadcast(actorOf(this), str(text, "the notice text"));
  }
  /** See ChatServices.changePassword. */
  changePassword(current: string, next: string): Promise<string> {
    return coreOf(this).changePassword(
      actorOf(this),
      str(current, "the current password"),
      str(next, "the new password"),
    );
  }
}

/** Services for a command's caller: a fresh actor per call, so sends are numbered per command. */
export function bindCaller(core: CoreServices, caller: Caller, cid?: string): ChatServices {
  return new BoundChatServices(core, {
    login: caller.login,
    session: caller.session,
    cid,
    sends: 0,
  });
}

/**
 * The server's voice for one plugin, granted at its setup: every use is logged with its name.
 *
 * @example
 * ```ts
 * import { type CoreServices, serverVoice } from "./bound_services.ts";
 * import { createLogger } from "../log.ts";
 * declare const core: CoreServices;
 * const voice = serverVoice(core, createLogger("info", () => {}), { plugin: "bot", reason: "news" });
 * voice.announce("Lunch is here");
 * ```
 */
export function serverVoice(
  core: CoreServices,
  log: Logger,
  grant: { plugin: string; reason: string },
): ServerVoice {
  log.info("plugin_voice_granted", { plugin: grant.plugin, reason: grant.reason });
  return Object.freeze({
    notify(login: string, text: string) {
      core.notify(str(login, "the login"), str(text, "the notice text"));
      log.info("plugin_voice", { plugin: grant.plugin, to: login });
    },
    announce(text: string) {
      core.broadcast(str(text, "the notice text"));
      log.info("plugin_voice", { plugin: grant.plugin, to: "everyone" });
    },
  });
}
