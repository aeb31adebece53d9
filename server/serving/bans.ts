// The bans in force, in memory: by login key, and by network address range (CIDR). Pure state, no I/O.
// The store keeps them; the ZAP gate asks about addresses at the handshake, the broker about logins.

import ipaddr from "ipaddr.js";
import type { Ban } from "./store/store.ts";

/** A parsed address range: the network and its prefix length. */
type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/**
 * The canonical form of an address or range as an operator types it: `203.0.113.7` becomes
 * `203.0.113.7/32`, `2001:db8::/32` stays; undefined when it is neither.
 *
 * @example
 * ```ts
 * import { parseAddressRange } from "./bans.ts";
 * parseAddressRange("203.0.113.0/24"); // "203.0.113.0/24"
 * parseAddressRange("bob"); // undefined
 * ```
 */
export function parseAddressRange(text: string): string | undefined {
  try {
    if (text.includes("/")) {
      if (!ipaddr.isValidCIDR(text)) return undefined;
      const [address, bits] = ipaddr.parseCIDR(text);
      return `${address.toString()}/${bits}`;
    }
    if (!ipaddr.isValid(text)) return undefined;
    const address = ipaddr.process(text);
    return `${address.toString()}/${address.kind() === "ipv4" ? 32 : 128}`;
  } catch {
    return undefined;
  }
}

/** Bans by login and by address, each until it expires. */
export class BanList {
  readonly #logins = new Map<string, Ban>();
  readonly #addresses = new Map<string, { ban: Ban; range: Range }>();

  constructor(bans: Iterable<Ban> = []) {
    for (const ban of bans) this.add(ban);
  }

  /** Adds or replaces a ban. An address ban's target must be a canonical range. */
  add(ban: Ban): void {
    if (ban.kind === "login") this.#logins.set(ban.target, ban);
    else this.#addresses.set(ban.target, { ban, range: ipaddr.parseCIDR(ban.target) });
  }

  remove(kind: Ban["kind"], target: string): boolean {
    return kind === "login" ? this.#logins.delete(target) : this.#addresses.delete(target);
  }

  /** The ban on a login key in force at `now`, if any. */
  login(key: string, now: number): Ban | undefined {
    const ban = this.#logins.get(key);
    return ban && live(ban, now) ? ban : undefined;
  }

  /**
   * The ban on a network address in force at `now`, if any. The address is as libzmq reports it
   * (`203.0.113.7`, `::ffff:203.0.113.7`, `2001:db8::1`); anything else is never banned.
   */
  address(text: string, now: number): Ban | undefined {
    if (this.#addresses.size === 0 || !ipaddr.isValid(text)) return undefined;
    const address = ipaddr.process(text);
    for (const { ban, range } of this.#addresses.values()) {
      if (address.kind() === range[0].kind() && live(ban, now) && address.match(range)) {
        return ban;
      }
    }
    return undefined;
  }

  /** Replaces every ban with `bans`; true when that changed which bans are in force at `now`. */
  replace(bans: readonly Ban[], now: number): boolean {
    const key = (list: Ban[]) =>
      JSON.stringify(list.map((b) => [b.kind, b.target, b.expires]).sort());
    const before = key(this.list(now));
    this.#logins.clear();
    this.#addresses.clear();
    for (const ban of bans) this.add(ban);
    return key(this.list(now)) !== before;
  }

  /** Every ban in force at `now`. */
  list(now: number): Ban[] {
    return [...this.#logins.values(), ...[...this.#addresses.values()].map((a) => a.ban)]
      .filter((ban) => live(ban, now));
  }
}

function live(ban: Ban, now: number): boolean {
  return ban.expires === undefined || ban.expires > now;
}
