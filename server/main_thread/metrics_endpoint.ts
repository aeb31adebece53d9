// `--metrics-bind HOST:PORT`: an HTTP endpoint serving the serving thread's Prometheus metrics at /metrics.
// Runs on the main thread, so a slow scraper never holds up chat; each scrape asks the serving thread.

import type { ServingThread } from "./serving_thread.ts";

/** The exposition format's content type (Prometheus text format 0.0.4). */
const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** A bound metrics endpoint. */
export interface MetricsEndpoint {
  /** Where it listens, as `http://host:port/metrics`. */
  readonly url: string;
  close(): Promise<void>;
}

/** Parses `host:port` (`[::1]:9464` for IPv6); throws an Error naming the value when it is not one. */
export function parseHostPort(text: string): { hostname: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[3]);
  if (!match || port > 65535) {
    throw new Error(
      `Cannot serve metrics on "${text}": give HOST:PORT, for example 127.0.0.1:9464`,
    );
  }
  return { hostname: match[1] ?? match[2], port };
}

/** Binds the metrics endpoint; rejects when the address cannot be bound. */
export async function openMetricsEndpoint(
  bind: string,
  thread: Pick<ServingThread, "call">,
): Promise<MetricsEndpoint> {
  const { hostname, port } = parseHostPort(bind);
  const listening = Promise.withResolvers<Deno.NetAddr>();
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname,
      port,
      onListen: (addr) => listening.resolve(addr),
      onError: () => new Response("Cannot render the metrics\n", { status: 500 }),
    }, async (request) => {
      const { pathname } = new URL(request.url);
      if (pathname !== "/metrics") {
        return new Response("Not found: the metrics are at /metrics\n", { status: 404 });
      }
      if (request.method !== "GET" && request.method !== "HEAD") {
        return new Response("Method not allowed\n", { status: 405, headers: { allow: "GET" } });
      }
      const text = await thread.call<string | undefined>({ method: "metrics" });
      return new Response(text ?? "", { headers: { "content-type": CONTENT_TYPE } });
    });
  } catch (error) {
    throw new Error(`Cannot serve metrics on "${bind}": ${(error as Error).message}`);
  }
  const addr = await listening.promise;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  return { url: `http://${host}:${addr.port}/metrics`, close: () => server.shutdown() };
}
