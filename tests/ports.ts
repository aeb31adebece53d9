// Loopback ports for tests: a closed one, and stable ones for servers a test stops and starts again.
// Stable ports lie below Linux's ephemeral range, so no outgoing connection can take them meanwhile.

/**
 * Servers that tests restart get ports below Linux's ephemeral range (32768-60999 by default):
 * between a stop and a start, an outgoing connection anywhere on the machine could otherwise be
 * given the very port, and the restart would find it taken.
 */
const STABLE_PORTS = { first: 20_000, count: 12_000 };
/** Random picks before giving up: the stable range is mostly free on a test machine. */
const PICKS = 100;

/** Whether loopback `port` can be bound now: nothing listens on it (Deno reads /proc only with -A). */
export function bindable(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch {
    return false;
  }
}

/** A loopback TCP port nobody listens on (bound, read back, released). */
export function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * A loopback port P, outside the ephemeral range (see STABLE_PORTS), with `span - 1` more free
 * after it: a chatz server on P takes P + 1 for its key endpoint by default.
 */
export function stablePort(span = 1): number {
  for (let attempt = 0; attempt < PICKS; attempt++) {
    const port = STABLE_PORTS.first + Math.floor(Math.random() * (STABLE_PORTS.count - span));
    let free = true;
    for (let i = 0; i < span && free; i++) free = bindable(port + i);
    if (free) return port;
  }
  throw new Error(`Cannot find ${span} free loopback ports in a row below the ephemeral range`);
}
