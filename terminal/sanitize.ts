// The one rule for what text from others may reach a terminal raw, for the client and the server log.
// Pure: finds the characters that could steer a terminal or reorder what it shows, and replaces them.

/**
 * Characters that must not reach a terminal raw: C0 and C1 controls and DEL (escape sequences
 * start with one), the bidirectional marks (U+061C, U+200E, U+200F), embeddings, overrides and
 * isolates (U+202A–U+202E, U+2066–U+2069), and the line and paragraph separators (U+2028, U+2029),
 * which some terminals and line splitters take as line breaks.
 */
const UNSAFE = /[\p{Cc}\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;
const UNSAFE_ALL = new RegExp(UNSAFE.source, "gu");

/**
 * Tells whether `text` holds no character that could steer a terminal.
 *
 * @example
 * ```ts
 * import { isTerminalSafe } from "./sanitize.ts";
 * isTerminalSafe("hello"); // true
 * isTerminalSafe("\x1b[2J"); // false
 * ```
 */
export function isTerminalSafe(text: string): boolean {
  return !UNSAFE.test(text);
}

/**
 * Replaces every unsafe character of `text` with `replacement`. Tabs and line breaks are unsafe
 * too: callers that keep them handle them first.
 *
 * @example
 * ```ts
 * import { replaceUnsafe } from "./sanitize.ts";
 * replaceUnsafe("a\x1b[31mb", "\ufffd"); // "a\ufffd[31mb"
 * ```
 */
export function replaceUnsafe(text: string, replacement: string): string {
  return text.replace(UNSAFE_ALL, replacement);
}

/**
 * Writes every unsafe character of `text` as a `\uXXXX` escape, as JSON would write a control:
 * for quoted values, where the reader must still be able to tell what was there.
 *
 * @example
 * ```ts
 * import { escapeUnsafe } from "./sanitize.ts";
 * escapeUnsafe("a\u202eb"); // "a\\u202eb"
 * ```
 */
export function escapeUnsafe(text: string): string {
  return text.replace(UNSAFE_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
