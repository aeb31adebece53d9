// The naming rule shared by logins and group names, enforced by the server and checked early by clients.
// Names are compared case-insensitively through their key; the spelling given first is kept for display.

/** Longest login or group name, in characters. */
export const MAX_NAME_LENGTH = 32;

const NAME_PATTERN = /^[A-Za-z0-9_.-]{1,32}$/;

/** The rule in words, for error messages and help. */
export const NAME_RULE = "1 to 32 characters of letters, digits, '_', '.' or '-'";

/** Tells whether `name` follows the naming rule. */
export function isValidName(name: string): boolean {
  return NAME_PATTERN.test(name);
}

/**
 * The comparison key of a login or group name: names that differ only in case are one name.
 *
 * @example
 * ```ts
 * import { nameKey } from "./names.ts";
 * nameKey("Alice") === nameKey("alice"); // true
 * ```
 */
export function nameKey(name: string): string {
  return name.toLowerCase();
}
