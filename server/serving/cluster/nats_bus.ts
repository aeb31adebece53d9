// The cluster's message bus on NATS: publish and subscribe on subjects, reconnecting by itself.
// The only module that talks to the NATS client (npm @nats-io/transport-node).

import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "../../log.ts";

/** Publish/subscribe between the nodes of a cluster. */
export interface Bus {
  publish(subject: string, data: string): void;
  /** Calls `handler` with each message on `subject`, in order. */
  subscribe(subject: string, handler: (data: string) => void): void;
  close(): Promise<void>;
}

/** A message from the bus as JSON; undefined (and a warning) when it is not JSON. */
export function parseBusMessage<T>(data: string, what: string, log: Logger): T | undefined {
  try {
    return JSON.parse(data) as T;
  } catch {
    log.warn("bus_bad_message", { what });
    return undefined;
  }
}

/** How long to wait for the first connection before the node refuses to start. */
const CONNECT_TIMEOUT_MS = 10_000;
/**
 * Pause between reconnection attempts. The client retries for ever: a node without its bus still
 * serves its own sessions, and its publications wait in the client's buffer.
 */
const RECONNECT_WAIT_MS = 500;

/** Connects to the NATS server(s) at `url` (comma-separated for several). */
export async function connectNatsBus(
  url: string,
  options: {
    name: string;
    log: Logger;
    /** Hears the connection to NATS drop and come back. */
    onStatus?: (status: "disconnect" | "reconnect") => void;
  },
): Promise<Bus> {
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: url.split(",").map((s) => s.trim()),
      name: options.name,
      timeout: CONNECT_TIMEOUT_MS,
      maxReconnectAttempts: -1,
      reconnectTimeWait: RECONNECT_WAIT_MS,
    });
  } catch (error) {
    throw new Error(`Cannot connect to the bus at "${url}": ${(error as Error).message}`);
  }
  (async () => {
    for await (const status of nc.status()) {
      if (status.type === "disconnect" || status.type === "reconnect") {
        options.log.warn(`bus_${status.type}`, { server: String(status.server ?? "") });
        try {
          options.onStatus?.(status.type);
        } catch (failure) {
          options.log.error("bus_handler_failed", { status: status.type, error: String(failure) });
        }
      }
    }
  })().catch(() => {});
  return {
    publish: (subject, data) => nc.publish(subject, data),
    subscribe(subject, handler) {
      nc.subscribe(subject, {
        callback: (error, message) => {
          if (error) return;
          try {
            handler(message.string());
          } catch (failure) {
            options.log.error("bus_handler_failed", { subject, error: String(failure) });
          }
        },
      });
    },
    close: () => nc.drain().catch(() => nc.close()),
  };
}
