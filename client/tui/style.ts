// How the full-screen client paints: nick colours from a hash of the name, SGR styles by line kind,
// and highlight detection. Pure; with colour off only reverse video marks bars and highlights.

import { nameKey } from "../../protocol/mod.ts";

/**
 * Nick colours, as WeeChat picks them: a hash of the name indexes this palette, so a nick keeps its
 * colour across sessions and machines. Red is left out (errors), and so is bold white (own nick).
 */
const NICK_COLORS = ["32", "33", "34", "35", "36", "92", "93", "94", "95", "96"] as const;

/** SGR styles by role. */
const STYLES = {
  time: "2",
  own: "1",
  dim: "2",
  notice: "33",
  error: "31",
  highlight: "1;30;43",
  bar: "7",
  marker: "31",
  date: "36",
} as const;

/** A role a piece of text plays on screen. */
export type StyleRole = keyof typeof STYLES;

/** Roles that stay visible with colour off: reverse video is not a colour. */
const WITHOUT_COLOR: Partial<Record<StyleRole, string>> = { bar: "7", highlight: "7" };

/** Paints `text` in a role's style; with colour off only bars and highlights are marked. */
export function paint(role: StyleRole, text: string, color: boolean): string {
  const sgr = color ? STYLES[role] : WITHOUT_COLOR[role];
  return sgr === undefined || text === "" ? text : `\x1b[${sgr}m${text}\x1b[0m`;
}

/** A nick in its stable colour (djb2 over its name key, as WeeChat's default hash). */
export function paintNick(nick: string, color: boolean): string {
  if (!color) return nick;
  return `\x1b[${NICK_COLORS[nickColorIndex(nick)]}m${nick}\x1b[0m`;
}

/** The palette index of a nick: the same for every spelling of the name. */
export function nickColorIndex(nick: string): number {
  let hash = 5381;
  for (const char of nameKey(nick)) hash = ((hash * 33) ^ char.codePointAt(0)!) >>> 0;
  return hash % NICK_COLORS.length;
}

/**
 * Whether a message mentions the user: their login or one of `words`, as whole words, case not
 * mattering (`bob` in "hi Bob!" but not in "bobcat").
 */
export function createHighlighter(
  self: string,
  words: readonly string[],
): (text: string) => boolean {
  const terms = [self, ...words].map((w) => w.trim()).filter((w) => w !== "");
  if (terms.length === 0) return () => false;
  const alternatives = terms.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|");
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}_])(?:${alternatives})(?![\\p{L}\\p{N}_])`, "iu");
  return (text) => pattern.test(text);
}
