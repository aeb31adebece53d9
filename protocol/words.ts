// How a command line and its `args` split into words: the one rule the client and the server share.
// Only ASCII whitespace separates: NBSP, U+3000 and other Unicode spaces belong to the word.

/**
 * The whitespace between words: tab, line feed, vertical tab, form feed, carriage return and space.
 * Not JavaScript's `\s`, which also takes NBSP, U+3000 and U+FEFF: a password may hold those.
 */
const SEPARATOR = "\t\n\v\f\r ";
const SPLIT = /^[\t\n\v\f\r ]*([^\t\n\v\f\r ]*)[\t\n\v\f\r ]*([\s\S]*)$/;

/**
 * Splits off the first word; the rest has its leading whitespace removed.
 *
 * @example
 * ```ts
 * import { splitWord } from "./words.ts";
 * splitWord("  bob  hello there"); // ["bob", "hello there"]
 * splitWord("pa\u00a0ss next"); // ["pa\u00a0ss", "next"]: NBSP is part of the word
 * ```
 */
export function splitWord(text: string): [string, string] {
  const match = SPLIT.exec(text);
  return match ? [match[1], match[2]] : ["", ""];
}

/** `text` without separator whitespace at either end (other Unicode spaces stay). */
export function trimArgs(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && SEPARATOR.includes(text[start])) start++;
  while (end > start && SEPARATOR.includes(text[end - 1])) end--;
  return text.slice(start, end);
}

/** Whether `text` is one non-empty word: no separator whitespace in it. */
export function isOneWord(text: string): boolean {
  return text.length > 0 && splitWord(text)[1] === "" && trimArgs(text) === text;
}
