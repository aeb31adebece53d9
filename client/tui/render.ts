// Draws the full-screen client as rows of text: title line, message area, status line, input line.
// Pure: it reads the window model and returns rows and the cursor; screen.ts writes them out.

import stringWidth from "string-width";
import wrapAnsi from "wrap-ansi";
import { formatTime, oneLine } from "../format.ts";
import { nameKey } from "../../protocol/mod.ts";
import { paint, paintNick } from "./style.ts";
import {
  activityText,
  type ChatWindow,
  currentWindow,
  markerIndex,
  type WindowLine,
  type WindowList,
} from "./windows.ts";
import type { InputView } from "./input_line.ts";

/** What the screen shows besides the windows. */
export interface ScreenState {
  windows: WindowList;
  /** The own login, as the server spells it. */
  self: string;
  /** Title line text: server, login, encryption. */
  title: string;
  /** Connection state for the status line, for example `lag 3 ms` or `reconnecting`. */
  connection: string;
  /** Text before the input, for example `[#devs] `. */
  prompt: string;
  input: InputView;
  color: boolean;
}

/** A rendered screen: exactly `height` rows, none wider than `width` columns. */
export interface Frame {
  rows: string[];
  cursor: { row: number; column: number };
}

/** Rows above and below the message area: title, status, input. */
export const CHROME_ROWS = 3;

/**
 * The prompt as shown: a window prompt takes at most half the row, a question all but a few
 * columns, so what is typed always has room.
 */
export function fitPrompt(prompt: string, width: number): string {
  return fit(prompt, Math.max(Math.floor(width / 2), width - 8));
}

/** A window's name as the status line and prompt show it. */
export function windowLabel(window: ChatWindow): string {
  if (window.kind === "group") return `#${oneLine(window.name)}`;
  return oneLine(window.name);
}

/** Renders the whole screen. */
export function renderScreen(state: ScreenState, width: number, height: number): Frame {
  const area = Math.max(0, height - CHROME_ROWS);
  const window = currentWindow(state.windows);
  const title = paint("bar", padTo(fit(state.title, width), width), state.color);
  const messages = renderMessages(window, { self: state.self, color: state.color }, width, area);
  const status = paint("bar", padTo(fit(statusText(state), width), width), state.color);
  const prompt = fitPrompt(state.prompt, width);
  const promptWidth = stringWidth(prompt);
  const rows = [title, ...messages, status, `${prompt}${state.input.text}`].slice(
    -Math.max(1, height),
  );
  const column = Math.min(width - 1, promptWidth + state.input.cursorColumn);
  return { rows, cursor: { row: rows.length - 1, column } };
}

function padTo(text: string, width: number): string {
  return text + " ".repeat(Math.max(0, width - stringWidth(text)));
}

/** The status line: time, own login, window number and name, activity list, connection state. */
export function statusText(state: ScreenState): string {
  const list = state.windows;
  const window = currentWindow(list);
  const parts = [
    `[${formatTime(Date.now())}]`,
    `[${oneLine(state.self)}]`,
    `[${list.current + 1}:${windowLabel(window)}]`,
  ];
  const activity = activityText(list);
  if (activity !== "") parts.push(`[${activity}]`);
  if (window.scroll > 0) parts.push("[-MORE-]");
  if (state.connection !== "") parts.push(`[${oneLine(state.connection)}]`);
  return parts.join(" ");
}

/** Options of line rendering. */
export interface LineOptions {
  self: string;
  color: boolean;
}

/**
 * The rows of the message area, bottom-aligned: `height` rows ending `window.scroll` rows above the
 * newest. Wraps only the lines it shows. Clamps `window.scroll` when there is less to show.
 */
export function renderMessages(
  window: ChatWindow,
  options: LineOptions,
  width: number,
  height: number,
): string[] {
  if (height <= 0) return [];
  const want = height + window.scroll;
  const marker = markerIndex(window);
  const rows: string[][] = []; // blocks, newest first
  let count = 0;
  for (let i = window.lines.length - 1; i >= 0 && count < want; i--) {
    const line = window.lines[i];
    const block = [...lineRows(line, options, width)];
    const previous = window.lines[i - 1];
    const day = dayOf(line);
    if (day !== undefined && previous !== undefined) {
      const before = dayOf(previous);
      if (before !== undefined && before !== day) {
        block.unshift(dateRow(lineTs(line)!, width, options.color));
      }
    }
    // The marker comes first: everything below it is unread, a date line included.
    if (i === marker) block.unshift(markerRow(width, options.color));
    rows.push(block);
    count += block.length;
  }
  const all = rows.reverse().flat();
  const maxScroll = Math.max(0, all.length - height);
  if (window.scroll > maxScroll) window.scroll = maxScroll;
  const end = all.length - window.scroll;
  const shown = all.slice(Math.max(0, end - height), end);
  return [...Array(height - shown.length).fill(""), ...shown];
}

/** Rows a line takes at `width` columns; cached per line and width. */
export function lineRows(line: WindowLine, options: LineOptions, width: number): string[] {
  const key = `${width}:${options.color ? 1 : 0}`;
  const cached = rowCache.get(line);
  if (cached?.key === key) return cached.rows;
  const rows = wrapLine(line, options, width);
  rowCache.set(line, { key, rows });
  return rows;
}

const rowCache = new WeakMap<WindowLine, { key: string; rows: string[] }>();

function wrapLine(line: WindowLine, options: LineOptions, width: number): string[] {
  const color = options.color;
  const time = "ts" in line && line.ts !== undefined ? `${formatTime(line.ts)} ` : "";
  let prefix = paint("time", time, color);
  let prefixWidth = stringWidth(time);
  let body: string[];
  switch (line.kind) {
    case "message": {
      const texts = safeLines(line.text);
      const nick = oneLine(line.from);
      if (line.action) {
        prefix += paint("dim", ` * ${nick} `, color);
        prefixWidth += stringWidth(` * ${nick} `);
        body = texts.map((t) => paint("dim", t, color));
      } else {
        const shown = line.own
          ? paint("own", nick, color)
          : line.highlight
          ? paint("highlight", nick, color)
          : paintNick(nick, color);
        prefix += `<${shown}> `;
        prefixWidth += stringWidth(`<${nick}> `);
        body = texts.map((t) => line.own ? paint("own", t, color) : t);
      }
      if (line.delayed) body[0] = `${paint("dim", "(delayed)", color)} ${body[0]}`;
      break;
    }
    case "info":
      body = safeLines(line.text).map((t) => paint("dim", `-- ${t}`, color));
      break;
    case "notice":
      body = safeLines(line.text).map((t) => paint("notice", `-!- ${t}`, color));
      break;
    case "error":
      body = safeLines(line.text).map((t) => paint("error", `error: ${t}`, color));
      break;
    case "backlog":
      return [paint("dim", centred(` ${oneLine(line.text)} `, width, "-"), color)];
  }
  // Continuation rows line up under the text, unless the prefix takes half the width.
  const indent = prefixWidth * 2 <= width ? prefixWidth : 0;
  const rows: string[] = [];
  body.forEach((text, i) => {
    const first = i === 0;
    const room = Math.max(1, width - indent);
    const wrapped = wrapAnsi(
      text === "" ? " " : text,
      first && indent === 0 ? Math.max(1, width - prefixWidth) : room,
      {
        hard: true,
        trim: false,
      },
    ).split("\n");
    wrapped.forEach((row, j) => {
      if (first && j === 0) rows.push(prefix + row);
      // The space a row was broken at stays at the start of the next one: drop it.
      else rows.push(" ".repeat(indent) + (j > 0 ? row.replace(/^ /, "") : row));
    });
  });
  return rows;
}

/** Untrusted text as safe lines: line breaks kept as separate rows, controls neutralised. */
export function safeLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/).map(oneLine);
}

function markerRow(width: number, color: boolean): string {
  return paint("marker", centred(" unread ", width, "-"), color);
}

function dateRow(ts: number, width: number, color: boolean): string {
  const date = new Date(ts);
  const text = date.toLocaleDateString("en-GB", {
    weekday: "short",
    day: "2-digit",
    month: "short",
    year: "numeric",
  });
  return paint("date", fit(`--- Day changed to ${text}`, width), color);
}

function centred(text: string, width: number, fill: string): string {
  const room = Math.max(0, width - stringWidth(text));
  const left = Math.floor(room / 2);
  return fit(fill.repeat(left) + text + fill.repeat(room - left), width);
}

function lineTs(line: WindowLine): number | undefined {
  return "ts" in line ? line.ts : undefined;
}

function dayOf(line: WindowLine): string | undefined {
  const ts = lineTs(line);
  if (ts === undefined) return undefined;
  const date = new Date(ts);
  return `${date.getFullYear()}-${date.getMonth()}-${date.getDate()}`;
}

/** Cuts plain text to `width` columns, whole clusters only. */
export function fit(text: string, width: number): string {
  if (stringWidth(text) <= width) return text;
  let used = 0;
  let out = "";
  for (const { segment } of segmenter.segment(text)) {
    const w = stringWidth(segment);
    if (used + w > width) break;
    out += segment;
    used += w;
  }
  return out;
}

const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** Whether `nick` is the own login. */
export function isSelf(nick: string, self: string): boolean {
  return nameKey(nick) === nameKey(self);
}
