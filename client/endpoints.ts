// The servers a client may use: `--server` lists endpoints (comma-separated), and a DNS name with
// several addresses stands for all of them, so a client can move to another node of a cluster.

/** Looks up a host's addresses; empty when it has none or cannot be looked up. */
export type Resolver = (host: string) => Promise<string[]>;

/** A tcp endpoint's parts; undefined for anything else (ipc://, inproc://, a typo libzmq will report). */
function tcpParts(endpoint: string): { host: string; port: string } | undefined {
  const match = /^tcp:\/\/(\[[^\]]+\]|[^:/\[\]]+):(\d+)$/.exec(endpoint);
  return match ? { host: match[1], port: match[2] } : undefined;
}

/** Whether `host` is an address already (IPv4, or IPv6 in brackets), not a name to look up. */
function isAddress(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.startsWith("[");
}

/**
 * The endpoints `server` names, in order, without repeats: each comma-separated endpoint, and for
 * a tcp endpoint with a DNS name, one endpoint per address it resolves to (the name itself when it
 * resolves to one address or none, so libzmq reports what is wrong with it).
 *
 * @example
 * ```ts
 * await expandEndpoints("tcp://10.0.0.1:5555, tcp://10.0.0.2:5555"); // both, in that order
 * ```
 */
export async function expandEndpoints(
  server: string,
  resolve: Resolver = resolveHost,
): Promise<string[]> {
  const found: string[] = [];
  for (const item of listedEndpoints(server)) {
    const parts = tcpParts(item);
    const addresses = parts && !isAddress(parts.host) ? await resolve(parts.host) : [];
    if (parts && addresses.length > 1) {
      for (const address of addresses) {
        found.push(`tcp://${address.includes(":") ? `[${address}]` : address}:${parts.port}`);
      }
    } else found.push(item);
  }
  return [...new Set(found)];
}

/**
 * The endpoints `server` lists, as written: comma-separated, trimmed, empty items dropped (no DNS).
 *
 * @example
 * ```ts
 * listedEndpoints("tcp://a:5555, tcp://b:5555"); // ["tcp://a:5555", "tcp://b:5555"]
 * ```
 */
export function listedEndpoints(server: string): string[] {
  return server.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}

/** The IPv4 and IPv6 addresses of `host`, from DNS; none when it cannot be looked up here. */
async function resolveHost(host: string): Promise<string[]> {
  const addresses: string[] = [];
  for (const type of ["A", "AAAA"] as const) {
    try {
      addresses.push(...await Deno.resolveDns(host, type));
    } catch {
      // no such records, no DNS, or no permission: libzmq resolves the name itself
    }
  }
  return addresses;
}
