// The user's known-servers file: one `ENDPOINT KEY` line per server whose CURVE key the client trusts.
// Like SSH's known_hosts: filled on first use, read on every encrypted `chatz connect`.

import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";

/** The file's name inside the chatz configuration folder. */
export const KNOWN_SERVERS_FILE = "known_servers";

/** One line of the file. */
export interface KnownServer {
  endpoint: string;
  /** As written; the caller checks that it is a CURVE key. */
  key: string;
}

/**
 * Where the known-servers file lives: `$CHATZ_CONFIG_DIR`, else `$XDG_CONFIG_HOME/chatz`, else
 * `~/.config/chatz`. Throws when none of them can be found.
 *
 * @example
 * ```ts
 * import { knownServersPath } from "./known_servers.ts";
 * knownServersPath((name) => ({ HOME: "/home/ann" })[name]); // "/home/ann/.config/chatz/known_servers"
 * ```
 */
export function knownServersPath(
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): string {
  const set = (name: string) => env(name) || undefined; // an empty variable counts as unset
  const folder = set("CHATZ_CONFIG_DIR") ??
    (set("XDG_CONFIG_HOME") && join(set("XDG_CONFIG_HOME")!, "chatz")) ??
    (set("HOME") && join(set("HOME")!, ".config", "chatz"));
  if (!folder) {
    throw new Error(
      "Cannot find the known-servers file: set CHATZ_CONFIG_DIR, XDG_CONFIG_HOME or HOME",
    );
  }
  return join(folder, KNOWN_SERVERS_FILE);
}

/**
 * Parses the file's text: `ENDPOINT KEY` per line, blank lines and `#` comments skipped. The first
 * line for an endpoint wins; malformed lines are skipped.
 *
 * @example
 * ```ts
 * import { parseKnownServers } from "./known_servers.ts";
 * parseKnownServers("# chatz\ntcp://h:5555 rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\n");
 * // [{ endpoint: "tcp://h:5555", key: "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7" }]
 * ```
 */
export function parseKnownServers(text: string): KnownServer[] {
  const servers: KnownServer[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const [endpoint, key, ...rest] = line.split(/\s+/);
    if (!key || rest.length > 0) continue;
    servers.push({ endpoint, key });
  }
  return servers;
}

/** The remembered key of an endpoint, or undefined when the file or the line does not exist. */
export function lookupKnownServer(path: string, endpoint: string): string | undefined {
  return parseKnownServers(readIfExists(path)).find((s) => s.endpoint === endpoint)?.key;
}

/**
 * Remembers an endpoint's key, replacing its old line. Creates the folder (mode 0700) and the file
 * (mode 0600); the new file replaces the old one in one rename, so a reader never sees half of it.
 */
export function rememberServer(path: string, endpoint: string, key: string): void {
  if (/\s/.test(endpoint) || /\s/.test(key) || endpoint === "" || key === "") {
    throw new Error(`Cannot remember server "${endpoint}": an endpoint or key with whitespace`);
  }
  const kept = readIfExists(path).split("\n").filter((line) =>
    line.trim() !== "" && line.trim().split(/\s+/)[0] !== endpoint
  );
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const temporary = `${path}.${Deno.pid}.tmp`;
    Deno.writeTextFileSync(temporary, [...kept, `${endpoint} ${key}`].join("\n") + "\n", {
      mode: 0o600,
    });
    Deno.renameSync(temporary, path);
  } catch (error) {
    throw new Error(
      `Cannot remember server "${endpoint}" in "${path}": ${(error as Error).message}`,
    );
  }
}

function readIfExists(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "";
    throw new Error(`Cannot read the known-servers file "${path}": ${(error as Error).message}`);
  }
}
