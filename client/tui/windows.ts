// The window model: one window per conversation, each with bounded scrollback, unread counts,
// an unread marker and an activity level; the activity list of the status line comes from it.

import type { MessageEvent } from "../../protocol/mod.ts";
import { nameKey } from "../../protocol/mod.ts";

/** Lines one window keeps; older ones are dropped (and can be read again with /history). */
export const MAX_WINDOW_LINES = 3000;

/** What a window shows. */
export type WindowKind = "public" | "group" | "query";

/** How much happened in a window the user is not looking at, lowest to highest. */
export type Activity = 0 | 1 | 2 | 3;
/** Activity levels: joins and presence, messages, mentions and direct messages. */
export const ACTIVITY = { none: 0, info: 1, message: 2, mention: 3 } as const;

/** One line of a window's scrollback. */
export type WindowLine =
  /** A chat message: `highlight` when it mentions the user, `own` when the user sent it. */
  | {
    kind: "message";
    seq: number;
    ts: number;
    id: number;
    from: string;
    text: string;
    action?: boolean;
    own?: boolean;
    highlight?: boolean;
    /** Delivered late: kept for the user while offline. */
    delayed?: boolean;
  }
  /** Presence, joins and leaves: shown dimmed. */
  | { kind: "info"; seq: number; ts?: number; text: string }
  /** What the client or server says: replies, notices. */
  | { kind: "notice"; seq: number; ts?: number; text: string }
  | { kind: "error"; seq: number; ts?: number; text: string }
  /** Where the backlog from history ends and live messages begin. */
  | { kind: "backlog"; seq: number; text: string };

/** A line before it gets its sequence number. */
export type NewLine = WindowLine extends infer L ? L extends WindowLine ? Omit<L, "seq"> : never
  : never;

/** One conversation's window. */
export interface ChatWindow {
  /** Stable identity: `public`, `group:<name key>` or `query:<name key>`. */
  key: string;
  kind: WindowKind;
  /** The group's or the other person's name as the server spells it; `public` for the room. */
  name: string;
  lines: WindowLine[];
  /** Messages that came while the window was not shown. */
  unread: number;
  activity: Activity;
  /** The seq of the last line seen when the user left the window; the marker goes after it. */
  lastSeen: number;
  /** Set while the window is shown after the user came back to unread lines: the marker's place. */
  markerSeq?: number;
  /** Rows scrolled up from the bottom; 0 follows new lines. */
  scroll: number;
  /** Message ids in the window, so history and live copies of a message appear once. */
  ids: Set<number>;
  /** Oldest message id in the window: where `/history` pages back from. */
  oldestId?: number;
  /** The backlog has been asked for (at login or when the window opened). */
  backlogRequested: boolean;
}

/** Every window and which one is shown. */
export interface WindowList {
  windows: ChatWindow[];
  /** Index of the current window in `windows`. */
  current: number;
  /** Next line sequence number, shared by all windows. */
  nextSeq: number;
}

/** Window list with the public room as window 1. */
export function createWindowList(): WindowList {
  return { windows: [newWindow("public", "public", "public")], current: 0, nextSeq: 1 };
}

/** The key of the window a conversation belongs in. */
export function windowKey(kind: WindowKind, name: string): string {
  return kind === "public" ? "public" : `${kind}:${nameKey(name)}`;
}

/** The window a message belongs in, seen by `self`. */
export function messageWindow(
  event: MessageEvent,
  self: string,
): { kind: WindowKind; name: string } {
  if (event.scope === "group") return { kind: "group", name: event.group ?? "?" };
  if (event.scope === "direct") {
    const other = nameKey(event.from) === nameKey(self) ? event.to ?? event.from : event.from;
    return { kind: "query", name: other };
  }
  return { kind: "public", name: "public" };
}

/** The current window. */
export function currentWindow(list: WindowList): ChatWindow {
  return list.windows[list.current];
}

/** Finds a window by kind and name. */
export function findWindow(
  list: WindowList,
  kind: WindowKind,
  name: string,
): ChatWindow | undefined {
  const key = windowKey(kind, name);
  return list.windows.find((w) => w.key === key);
}

/**
 * Finds or opens the window of a conversation; a new one goes at the end. Returns it and whether it
 * is new (a new window wants its backlog).
 */
export function openWindow(
  list: WindowList,
  kind: WindowKind,
  name: string,
): { window: ChatWindow; opened: boolean } {
  const found = findWindow(list, kind, name);
  if (found) return { window: found, opened: false };
  const window = newWindow(windowKey(kind, name), kind, name);
  list.windows.push(window);
  return { window, opened: true };
}

/** Closes a window (never the public room's); the one before it becomes current if it was. */
export function closeWindow(list: WindowList, window: ChatWindow): boolean {
  const index = list.windows.indexOf(window);
  if (index <= 0) return false;
  const wasCurrent = index === list.current;
  list.windows.splice(index, 1);
  if (list.current >= index) list.current = Math.max(0, list.current - 1);
  if (wasCurrent) arrive(currentWindow(list));
  return true;
}

/** Shows window `index` (0-based); remembers where the user left the one shown before. */
export function switchTo(list: WindowList, index: number): boolean {
  if (index < 0 || index >= list.windows.length || index === list.current) return false;
  leave(currentWindow(list));
  list.current = index;
  arrive(currentWindow(list));
  return true;
}

/** Shows the next (+1) or previous (-1) window, wrapping around. */
export function switchBy(list: WindowList, step: 1 | -1): boolean {
  const n = list.windows.length;
  return switchTo(list, (list.current + step + n) % n);
}

/**
 * Adds a line at the end of a window: counts it as unread and raises the window's activity when the
 * window is not the one shown.
 */
export function appendLine(
  list: WindowList,
  window: ChatWindow,
  line: NewLine,
  activity: Activity,
): WindowLine {
  const added = { ...line, seq: list.nextSeq++ } as WindowLine;
  if (added.kind === "message") {
    if (window.ids.has(added.id)) return added;
    window.ids.add(added.id);
    if (window.oldestId === undefined || added.id < window.oldestId) window.oldestId = added.id;
  }
  window.lines.push(added);
  if (window.lines.length > MAX_WINDOW_LINES) {
    dropOldest(window, window.lines.length - MAX_WINDOW_LINES);
  }
  if (window !== currentWindow(list)) {
    // What the user wrote (from another session, or a reply) is not news to them.
    const own = added.kind === "message" && added.own === true;
    if (added.kind === "message" && !own) window.unread++;
    if (!own && activity > window.activity) window.activity = activity;
    if (own && window.unread === 0) window.lastSeen = added.seq;
  } else window.lastSeen = added.seq;
  return added;
}

/**
 * Puts messages from history before everything in the window, oldest first, skipping those it
 * already has; `separator` (the end of the login backlog) goes after them when given. Returns how
 * many were added.
 */
export function prependHistory(
  list: WindowList,
  window: ChatWindow,
  messages: readonly NewLine[],
  separator?: string,
): number {
  const fresh = messages.filter((m) => m.kind !== "message" || !window.ids.has(m.id));
  // Sequence numbers only order lines for the unread marker: older lines get numbers below every
  // line shown so far, so they never count as unread.
  const base = (window.lines[0]?.seq ?? list.nextSeq) - fresh.length - 1;
  const added = fresh.map((line, i) => ({ ...line, seq: base + i } as WindowLine));
  for (const line of added) {
    if (line.kind !== "message") continue;
    window.ids.add(line.id);
    if (window.oldestId === undefined || line.id < window.oldestId) window.oldestId = line.id;
  }
  const lines = separator === undefined || added.length === 0
    ? added
    : [...added, { kind: "backlog", seq: base + added.length, text: separator } as WindowLine];
  window.lines.unshift(...lines);
  if (window.lines.length > MAX_WINDOW_LINES) {
    // The user asked for these: drop from the oldest end all the same, to keep the bound.
    dropOldest(window, window.lines.length - MAX_WINDOW_LINES);
  }
  return added.length;
}

/**
 * Puts one replayed message in id order among the window's messages, counted neither as unread
 * nor as activity; false when the window has it already.
 */
export function insertOlder(
  list: WindowList,
  window: ChatWindow,
  line: NewLine & { kind: "message" },
): boolean {
  if (window.ids.has(line.id)) return false;
  const found = window.lines.findIndex((l) => l.kind === "message" && l.id > line.id);
  const at = found === -1 ? window.lines.length : found;
  // The sequence number of the line before it: as seen (or not) as that line, so never unread.
  const seq = at > 0 ? window.lines[at - 1].seq : (window.lines[0]?.seq ?? list.nextSeq) - 1;
  window.lines.splice(at, 0, { ...line, seq } as WindowLine);
  window.ids.add(line.id);
  if (window.oldestId === undefined || line.id < window.oldestId) window.oldestId = line.id;
  if (window.lines.length > MAX_WINDOW_LINES) {
    dropOldest(window, window.lines.length - MAX_WINDOW_LINES);
  }
  return true;
}

/**
 * The activity list of the status line: the numbers of windows with unseen messages, mentions
 * marked with `*`, as in irssi's `[Act: 2,4*]`. Empty when nothing happened elsewhere.
 */
export function activityList(list: WindowList): { number: number; mention: boolean }[] {
  return list.windows.flatMap((w, i) =>
    w.activity >= ACTIVITY.message && i !== list.current
      ? [{ number: i + 1, mention: w.activity >= ACTIVITY.mention }]
      : []
  );
}

/** The activity list as text: `Act: 2,4*`, or "" when empty. */
export function activityText(list: WindowList): string {
  const items = activityList(list);
  return items.length === 0
    ? ""
    : `Act: ${items.map((a) => `${a.number}${a.mention ? "*" : ""}`).join(",")}`;
}

/**
 * Where the unread marker goes in the current window: the index of the first line the user has not
 * seen, or undefined when there is none.
 */
export function markerIndex(window: ChatWindow): number | undefined {
  const seen = window.markerSeq;
  if (seen === undefined) return undefined;
  const index = window.lines.findIndex((l) => l.seq > seen);
  return index <= 0 ? undefined : index;
}

function leave(window: ChatWindow): void {
  window.lastSeen = window.lines.at(-1)?.seq ?? window.lastSeen;
  window.markerSeq = undefined;
}

function arrive(window: ChatWindow): void {
  // The marker stays where the user left until they leave again.
  window.markerSeq = window.unread > 0 ? window.lastSeen : undefined;
  window.unread = 0;
  window.activity = ACTIVITY.none;
  window.scroll = 0;
  window.lastSeen = window.lines.at(-1)?.seq ?? window.lastSeen;
}

function dropOldest(window: ChatWindow, count: number): void {
  const dropped = window.lines.splice(0, count);
  for (const line of dropped) if (line.kind === "message") window.ids.delete(line.id);
  const first = window.lines.find((l) => l.kind === "message");
  window.oldestId = first?.kind === "message" ? first.id : undefined;
}

function newWindow(key: string, kind: WindowKind, name: string): ChatWindow {
  return {
    key,
    kind,
    name,
    lines: [],
    unread: 0,
    activity: ACTIVITY.none,
    lastSeen: 0,
    scroll: 0,
    ids: new Set(),
    backlogRequested: false,
  };
}
