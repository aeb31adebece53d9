// Renders server events and replies for output: human lines with optional colors, or JSON lines.
// Pure: text from the wire is stripped of control characters so no peer can drive the terminal.

import type {
  ErrorCode,
  GroupEvent,
  MessageEvent,
  OkReply,
  Reply,
  ServerEvent,
} from "../protocol/mod.ts";
import { nameKey } from "../protocol/mod.ts";
import type { ClientErrorCode } from "./connection.ts";
import type { TrustErrorCode } from "./curve_trust.ts";
import { replaceUnsafe } from "../terminal/sanitize.ts";

/** How to render. */
export interface FormatOptions {
  /** The own login, as the server spells it: messages from or to it say "you". */
  self: string;
  /** Colors the line with ANSI escapes by kind: public, direct, group, notice, error. */
  color?: boolean;
}

/** A line the client itself produces in `--json` mode. */
export type LocalJson =
  | { type: "help"; text: string }
  | { type: "error"; code: ErrorCode | ClientErrorCode | TrustErrorCode; message: string };

/** Indent of the lines after the first of a multi-line message: the width of `[HH:MM] `. */
const CONTINUATION = "        ";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** ANSI SGR codes per kind of line. */
const COLORS = {
  time: "2", // dim
  public: "36", // cyan
  direct: "35", // magenta
  group: "32", // green
  info: "2", // dim: presence and group changes
  notice: "33", // yellow
  error: "31", // red
} as const;

type ColorKind = keyof typeof COLORS;

/**
 * Renders one pushed event as a human line, prefixed with its local time when it has one.
 *
 * @example
 * ```ts
 * import { formatEvent } from "./format.ts";
 * const ts = new Date(2025, 0, 5, 9, 7).getTime();
 * formatEvent({ type: "message", id: 1, ts, scope: "public", from: "alice", text: "hi" }, {
 *   self: "bob",
 * }); // "[09:07] <alice> hi"
 * ```
 */
export function formatEvent(event: ServerEvent, options: FormatOptions): string {
  const color = options.color ?? false;
  switch (event.type) {
    case "message":
      return stamp(event.ts, formatMessage(event, options), color);
    case "presence": {
      const who = person(event.login, options);
      const verb = who === "you" ? "are" : "is";
      const line = `-- ${who} ${verb} ${oneLine(String(event.state))}`;
      return stamp(event.ts, paint("info", line, color), color);
    }
    case "group":
      return stamp(event.ts, paint("info", `-- ${groupChange(event, options)}`, color), color);
    case "notice":
      return textLines(event.text)
        .map((line) => stamp(event.ts, paint("notice", `-!- ${line}`, color), color))
        .join("\n");
    case "bye":
      return paint(
        "notice",
        `-!- Session ended: ${oneLine(event.message)} (${oneLine(event.code)})`,
        color,
      );
    case "error":
      return formatError(event.code, event.message, { color });
    default: {
      // An event type newer than this client: show it raw rather than drop it.
      const unknown: unknown = event;
      return paint("notice", `-!- ${oneLine(JSON.stringify(unknown))}`, color);
    }
  }
}

/**
 * Renders a reply: an error line, the messages of a history page (each as its event would be
 * shown), then the reply's text, if any. Returns undefined for a success that has nothing to show.
 *
 * @example
 * ```ts
 * import { formatReply } from "./format.ts";
 * formatReply({ re: 2, ok: true, text: "Joined group ops" }, { self: "bob" }); // "Joined group ops"
 * ```
 */
export function formatReply(reply: Reply, options: FormatOptions): string | undefined {
  const color = options.color ?? false;
  if (!reply.ok) return formatError(reply.code, reply.message, { color });
  const lines = [
    ...historyMessages(reply).map((message) => formatEvent(message, options)),
    ...replyText(reply),
  ];
  return lines.length === 0 ? undefined : lines.join("\n");
}

/**
 * The messages a reply carries in `data.messages` (a history page), oldest first; malformed entries
 * are left out.
 */
export function historyMessages(reply: OkReply): MessageEvent[] {
  const data = isRecord(reply.data) ? reply.data : {};
  if (!Array.isArray(data.messages)) return [];
  return data.messages.filter(isMessageEvent).map((m) => ({ ...m, history: true }));
}

/** Whether a successful reply acknowledges a sent message (`data: {id, ts}`, section 4.5). */
export function isSendAck(reply: OkReply): boolean {
  const data = isRecord(reply.data) ? reply.data : {};
  return typeof data.id === "number" && typeof data.ts === "number";
}

function replyText(reply: OkReply): string[] {
  return reply.text === undefined || reply.text === "" ? [] : textLines(reply.text);
}

/** Renders an error the way every error line looks: `error: message (code)`. */
export function formatError(
  code: string,
  message: string,
  options: { color?: boolean } = {},
): string {
  return paint("error", `error: ${oneLine(message)} (${oneLine(code)})`, options.color ?? false);
}

/**
 * One `--json` output line: events as they came on the wire, replies as `reply` or `error` objects.
 *
 * @example
 * ```ts
 * import { toJsonLine } from "./format.ts";
 * toJsonLine({ re: 4, ok: true, text: "Joined #ops" }); // '{"type":"reply","re":4,"text":"Joined #ops"}'
 * ```
 */
export function toJsonLine(item: ServerEvent | Reply | LocalJson): string {
  const value = "re" in item
    ? item.ok
      ? { type: "reply", re: item.re, text: item.text, data: item.data }
      : { type: "error", re: item.re, code: item.code, message: item.message }
    : item;
  // JSON allows U+2028 and U+2029 raw, but some line splitters (Python's splitlines) break on them.
  return JSON.stringify(value).replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

/** `HH:MM` in local time. */
export function formatTime(ts: number): string {
  const date = new Date(ts);
  return `${pad2(date.getHours())}:${pad2(date.getMinutes())}`;
}

/** `HH:MM DD Mon` in local time. */
export function formatDateTime(ts: number): string {
  const date = new Date(ts);
  return `${formatTime(ts)} ${pad2(date.getDate())} ${MONTHS[date.getMonth()]}`;
}

/**
 * Makes untrusted text safe for one terminal line: line breaks become " ↵ ", tabs spaces, and what
 * else could steer the terminal (terminal/sanitize.ts) is shown as U+FFFD.
 */
export function oneLine(text: string): string {
  return sanitizeLine(text.replace(/\r\n|\r|\n/g, " ↵ "));
}

function formatMessage(event: MessageEvent, options: FormatOptions): string {
  const color = options.color ?? false;
  const tags: string[] = [];
  if (event.history) tags.push("(history)");
  if (event.delayed) tags.push(`(delayed, sent ${formatDateTime(event.ts)})`);
  if (event.catchup) tags.push("(missed while reconnecting)");
  // The name may belong to someone else now: the author is shown as the deleted account.
  if (event.fromDeleted) tags.push("(from a deleted account)");
  // Lines after the first of a multi-line message are indented under the first.
  const text = textLines(event.text).join(`\n${CONTINUATION}`);
  let line: string;
  if (event.action) {
    // An action's text is written in the third person, so it keeps the sender's name even for oneself.
    line = `* ${oneLine(event.from)} ${text}`;
    if (event.scope === "direct") line = `${directHead(event, options)} ${line}`;
  } else if (event.scope === "direct") line = `${directHead(event, options)} ${text}`;
  else line = `${paint("public", `<${person(event.from, options)}>`, color)} ${text}`;
  if (event.scope === "group") {
    line = `${paint("group", `[#${oneLine(event.group ?? "?")}]`, color)} ${line}`;
  }
  return [...tags, line].join(" ");
}

function directHead(event: MessageEvent, options: FormatOptions): string {
  const to = event.to === undefined ? "?" : person(event.to, options);
  return paint("direct", `[${person(event.from, options)} → ${to}]`, options.color ?? false);
}

function groupChange(event: GroupEvent, options: FormatOptions): string {
  const who = person(event.login, options);
  const by = event.by === undefined ? undefined : person(event.by, options);
  const group = `#${oneLine(event.group)}`;
  switch (event.action) {
    case "create":
      return `${who} created ${group}`;
    case "delete":
      return `${who} deleted ${group}`;
    case "join":
      return `${who} joined ${group}`;
    case "leave":
      return `${who} left ${group}`;
    case "kick":
      return by === undefined
        ? `${who} ${be(who, "was")} kicked from ${group}`
        : `${by} kicked ${who} from ${group}`;
    case "owner":
      return by === undefined
        ? `${who} ${be(who, "is")} now the owner of ${group}`
        : `${by} made ${who} the owner of ${group}`;
    case "ban":
      return by === undefined
        ? `${who} ${be(who, "was")} banned from ${group}`
        : `${by} banned ${who} from ${group}`;
    case "topic":
      return event.topic
        ? `${who} set the topic of ${group}: ${oneLine(event.topic)}`
        : `${who} cleared the topic of ${group}`;
    default:
      return `${who}: ${oneLine(String(event.action))} ${group}`;
  }
}

/** A login as the reader should see it: "you" for the own login. */
function person(login: string, options: FormatOptions): string {
  return nameKey(login) === nameKey(options.self) ? "you" : oneLine(login);
}

function be(who: string, form: "is" | "was"): string {
  if (who !== "you") return form;
  return form === "is" ? "are" : "were";
}

function stamp(ts: number | undefined, line: string, color: boolean): string {
  if (typeof ts !== "number" || !Number.isFinite(ts)) return line;
  return `${paint("time", `[${formatTime(ts)}]`, color)} ${line}`;
}

function paint(kind: ColorKind, text: string, on: boolean): string {
  return on ? `\x1b[${COLORS[kind]}m${text}\x1b[0m` : text;
}

/** Splits multi-line text from the server into safe lines. */
function textLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/).map(sanitizeLine);
}

/** A line of untrusted text with tabs as spaces and what could steer the terminal as U+FFFD. */
function sanitizeLine(text: string): string {
  return replaceUnsafe(text.replace(/\t/g, " "), "\ufffd");
}

function pad2(n: number): string {
  return String(n).padStart(2, "0");
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isMessageEvent(value: unknown): value is MessageEvent {
  return isRecord(value) && value.type === "message" && typeof value.id === "number" &&
    typeof value.ts === "number" && typeof value.from === "string" &&
    typeof value.text === "string" &&
    (value.scope === "public" || value.scope === "direct" || value.scope === "group");
}
