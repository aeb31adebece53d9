// How both sides word a file they could not read (a password file, a config file, a key file):
// one wording, so the client, the admin command and the server say the same thing.

/**
 * The reason a file could not be read, in a few words for the end of a message.
 *
 * @example
 * ```ts
 * import { fileErrorReason } from "./file_errors.ts";
 * try {
 *   Deno.readTextFileSync("/nonexistent");
 * } catch (error) {
 *   console.error(`Cannot read "/nonexistent": ${fileErrorReason(error)}`); // no such file
 * }
 * ```
 */
export function fileErrorReason(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "no such file";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.IsADirectory) return "is a directory";
  if (error instanceof Deno.errors.NotCapable) return "read access not granted (--allow-read)";
  return error instanceof Error ? error.message : String(error);
}
