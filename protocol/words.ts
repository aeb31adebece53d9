// Splitting a command line into its first word and the rest: the one rule the client and the server
// share, so a line means the same on both sides.

/**
 * Splits `text` at the first run of whitespace after its first word: leading whitespace is skipped,
 * the rest keeps everything after the separating whitespace (trailing whitespace included).
 *
 * @example
 * ```ts
 * import { splitWord } from "./words.ts";
 * splitWord("  msg bob  hello "); // ["msg", "bob  hello "]
 * ```
 */
export function splitWord(text: string): [string, string] {
  const match = /^\s*(\S*)\s*([\s\S]*)$/.exec(text);
  return match ? [match[1], match[2]] : ["", ""];
}
