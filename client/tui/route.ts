// Puts what the server sends into windows: messages into their conversation's window, group events
// into the group's, presence into the public room and the person's query. Pure over the model.

import type { MessageEvent, ServerEvent } from "../../protocol/mod.ts";
import { nameKey } from "../../protocol/mod.ts";
import {
  ACTIVITY,
  appendLine,
  type ChatWindow,
  currentWindow,
  findWindow,
  insertOlder,
  messageWindow,
  type NewLine,
  openWindow,
  type WindowList,
} from "./windows.ts";

/** Who the user is and what counts as a mention. */
export interface RouteContext {
  self: string;
  /** True when a text mentions the user (login or a highlight word). */
  highlights(text: string): boolean;
}

/** What routing one event asks of the client beyond the model change. */
export interface Routed {
  /** Ring the bell: a mention or a direct message arrived. */
  bell: boolean;
  /** A window opened by this event: it wants its backlog. */
  opened?: ChatWindow;
}

/** Routes one server event into the window list. */
export function routeEvent(list: WindowList, event: ServerEvent, context: RouteContext): Routed {
  switch (event.type) {
    case "message":
      return routeMessage(list, event, context);
    case "presence": {
      const who = sameLogin(event.login, context.self) ? "you" : event.login;
      const text = `${who} ${who === "you" ? "are" : "is"} ${event.state}`;
      const line: NewLine = { kind: "info", ts: event.ts, text };
      appendLine(list, list.windows[0], line, ACTIVITY.info);
      const query = findWindow(list, "query", event.login);
      if (query) appendLine(list, query, line, ACTIVITY.info);
      return { bell: false };
    }
    case "group": {
      const target = findWindow(list, "group", event.group);
      const who = sameLogin(event.login, context.self) ? "you" : event.login;
      const by = event.by === undefined ? "" : ` by ${event.by}`;
      const text = `${who} ${groupVerb(event.action)} #${event.group}${by}`;
      const line: NewLine = { kind: "info", ts: event.ts, text };
      appendLine(list, target ?? list.windows[0], line, ACTIVITY.info);
      return { bell: false };
    }
    case "notice":
      appendLine(list, currentWindow(list), { kind: "notice", ts: event.ts, text: event.text }, 0);
      return { bell: false };
    case "bye":
      appendLine(list, currentWindow(list), {
        kind: "notice",
        text: `Session ended: ${event.message} (${event.code})`,
      }, 0);
      return { bell: false };
    case "error":
      appendLine(list, currentWindow(list), {
        kind: "error",
        text: `${event.message} (${event.code})`,
      }, 0);
      return { bell: false };
    default: {
      const unknown: unknown = event;
      appendLine(list, currentWindow(list), { kind: "notice", text: JSON.stringify(unknown) }, 0);
      return { bell: false };
    }
  }
}

/** A message as a window line, highlighted when it mentions the user. */
export function messageLine(event: MessageEvent, context: RouteContext): NewLine {
  const own = sameLogin(event.from, context.self);
  const highlight = !own && (event.scope === "direct" || context.highlights(event.text));
  return {
    kind: "message",
    ts: event.ts,
    id: event.id,
    from: event.from,
    text: event.text,
    ...(event.action ? { action: true } : {}),
    ...(own ? { own: true } : {}),
    ...(highlight && event.scope !== "direct" ? { highlight: true } : {}),
    ...(event.delayed ? { delayed: true } : {}),
  };
}

function routeMessage(list: WindowList, event: MessageEvent, context: RouteContext): Routed {
  const place = messageWindow(event, context.self);
  const { window, opened } = openWindow(list, place.kind, place.name);
  const line = messageLine(event, context);
  if (event.history) {
    // Replayed history (a group's recent messages on joining) is old news: it goes before the
    // window's lines, unread by no count, and never rings.
    if (line.kind === "message") insertOlder(list, window, line);
    return opened ? { bell: false, opened: window } : { bell: false };
  }
  const own = line.kind === "message" && line.own === true;
  // Direct messages count as mentions, as in irssi's and Slack's unread lists.
  const mention = !own && (event.scope === "direct" || context.highlights(event.text));
  const before = window.lines.length;
  appendLine(list, window, line, mention ? ACTIVITY.mention : ACTIVITY.message);
  const added = window.lines.length > before;
  // A live mention rings, even in the window being read.
  return {
    bell: added && mention,
    ...(opened ? { opened: window } : {}),
  };
}

function groupVerb(action: string): string {
  switch (action) {
    case "create":
      return "created";
    case "delete":
      return "deleted";
    case "join":
      return "joined";
    case "leave":
      return "left";
    case "kick":
      return "was kicked from";
    case "owner":
      return "now owns";
    default:
      return action;
  }
}

function sameLogin(a: string, b: string): boolean {
  return nameKey(a) === nameKey(b);
}
