// Counted nouns in the texts both sides show: "1 member", "2 members", never "1 members".
// One helper, so server replies, operator output and the client's notices agree.

/**
 * `count` and the noun in the number that fits it.
 *
 * @example
 * ```ts
 * import { plural } from "./plural.ts";
 * plural(1, "missed message"); // "1 missed message"
 * plural(3, "session"); // "3 sessions"
 * plural(2, "person", "people"); // "2 people"
 * ```
 */
export function plural(count: number, noun: string, many = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : many}`;
}
