// The server's Prometheus metrics, kept on the serving thread with prom-client and rendered on request.
// Counters come from the log's events, the store's commits, the transport's frames and the fan-out.

import { Buffer } from "node:buffer";
import { statSync } from "node:fs";
import client from "prom-client";
import type { Scope } from "../../protocol/mod.ts";
import type { Logger } from "../log.ts";
import type { TransportEvents } from "./peer_transport.ts";
import type { SessionDirectory } from "./shared_state.ts";
import type { Store } from "./store/store.ts";

/** Commit durations worth telling apart, in seconds: from a small commit (~20 us) to a stall. */
const COMMIT_BUCKETS = [
  0.00005,
  0.0001,
  0.00025,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.05,
  0.25,
  1,
];
/** How often the event loop's lateness is sampled. */
const LAG_SAMPLE_MS = 500;
/** Login refusal reasons kept as label values; any other becomes `other` (labels stay bounded). */
const REFUSAL_REASONS = new Set([
  "invalid_name",
  "reserved",
  "banned",
  "throttled",
  "too_many_sessions",
  "bad_token",
  "no_password",
  "wrong_password",
  "registration_closed",
  "bad_invite",
  "new_account",
  "race",
  "shutdown",
  "no_key",
  "unknown_key",
  "registration_rate",
]);

/** What the metrics read at each scrape. */
export interface MetricSources {
  sessions: SessionDirectory;
  store: Pick<Store, "accountCount">;
  /** Files whose sizes add up to the store's size on disk (none for a store elsewhere). */
  storeFiles: string[];
  /** Events queued for sessions since start, and the chat messages among them by scope. */
  deliveries(): { total: number; byScope: Record<Scope, number> };
}

/** The server's metrics. */
export interface ServerMetrics {
  /** Gives the metrics what they read at each scrape, once the server has it. */
  attach(sources: MetricSources): void;
  /** A logger that also counts the events it sees (before level filtering). */
  tap(log: Logger): Logger;
  /** The store with its commits timed and its messages counted by scope. */
  measureStore<S extends Store>(store: S): S;
  /** Transport events with incoming frames and bytes counted. */
  countIn(events: TransportEvents): TransportEvents;
  /** A send function with outgoing frames and bytes counted. */
  countOut<T>(send: (to: T, frames: (string | Uint8Array)[]) => void): typeof send;
  /** The Prometheus text exposition of every metric. */
  render(): Promise<string>;
  /** The exposition's content type. */
  readonly contentType: string;
  close(): void;
}

/**
 * Creates the metrics in a registry of their own (no process-wide defaults): the counters fed as
 * things happen here, the ones read at each scrape in declareScrapeMetrics.
 */
export function createMetrics(): ServerMetrics {
  const registry = new client.Registry();
  let attached: MetricSources | undefined;
  /** Reads a source at a scrape; 0 before the server attached its parts. */
  const read = (get: (sources: MetricSources) => number) => attached ? get(attached) : 0;
  const reg = [registry];
  const counter = (name: string, help: string, labelNames: string[] = []) =>
    new client.Counter({ name, help, labelNames, registers: reg });

  const logins = counter("chatz_logins_total", "Successful logins (resumed ones included)");
  const refused = counter("chatz_login_failures_total", "Refused logins, by reason", ["reason"]);
  const stored = counter("chatz_messages_stored_total", "Chat messages stored, by scope", [
    "scope",
  ]);
  const pluginFailures = counter("chatz_plugin_failures_total", "Plugin handlers that failed");
  const idleClosed = counter(
    "chatz_idle_connections_closed_total",
    "Connections closed after receiving nothing for four session timeouts",
  );
  const deadlineClosed = counter(
    "chatz_login_deadline_closed_total",
    "Connections closed for carrying no logged-in session for the login deadline",
  );
  const framesIn = counter("chatz_frames_in_total", "ZeroMQ messages received from clients");
  const framesOut = counter("chatz_frames_out_total", "ZeroMQ messages sent to clients");
  const bytesIn = counter("chatz_bytes_in_total", "Payload bytes received (frames after the id)");
  const bytesOut = counter("chatz_bytes_out_total", "Payload bytes sent (frames after the id)");
  const commits = new client.Histogram({
    name: "chatz_commit_seconds",
    help: "Time a store commit took",
    buckets: COMMIT_BUCKETS,
    registers: reg,
  });
  const lag = sampleLoopLag();
  declareScrapeMetrics(reg, read, () => attached?.deliveries().byScope ?? {}, lag.worst);
  const count = (event: string, fields: Record<string, unknown> = {}) => {
    if (event === "login") logins.inc();
    else if (event === "login_refused") {
      const reason = String(fields.reason ?? "other");
      refused.inc({ reason: REFUSAL_REASONS.has(reason) ? reason : "other" });
    } else if (event === "plugin_failed") pluginFailures.inc();
    else if (event === "connection_idle_closed") idleClosed.inc();
    else if (event === "connection_login_deadline") deadlineClosed.inc();
  };
  return {
    attach(sources) {
      attached = sources;
    },
    tap: (log) => ({
      debug: (event, fields) => (count(event, fields), log.debug(event, fields)),
      info: (event, fields) => (count(event, fields), log.info(event, fields)),
      warn: (event, fields) => (count(event, fields), log.warn(event, fields)),
      error: (event, fields) => (count(event, fields), log.error(event, fields)),
    }),
    measureStore(store) {
      // Inherits every method; `this` inside them is the wrapper, so their own calls are measured too.
      const measured = Object.create(store);
      measured.addMessage = (message: Parameters<Store["addMessage"]>[0]) => {
        stored.inc({ scope: message.scope });
        return store.addMessage(message);
      };
      measured.commit = () => {
        const end = commits.startTimer();
        try {
          store.commit();
        } finally {
          end();
        }
      };
      return measured;
    },
    countIn: (events) => ({
      ...events,
      received(from, frames, autoId) {
        framesIn.inc();
        bytesIn.inc(payloadBytes(frames));
        return events.received(from, frames, autoId);
      },
    }),
    countOut: (send) => (to, frames) => {
      framesOut.inc();
      bytesOut.inc(payloadBytes(frames));
      send(to, frames);
    },
    render: () => registry.metrics(),
    contentType: registry.contentType,
    close: lag.stop,
  };
}

/**
 * Declares the metrics read at each scrape: deliveries counted by the fan-out, the gauges of
 * sessions, accounts and store size, and the event loop's lag.
 */
function declareScrapeMetrics(
  reg: client.Registry[],
  read: (get: (sources: MetricSources) => number) => number,
  byScopeNow: () => Record<string, number>,
  lag: () => number,
): void {
  const gauge = (name: string, help: string, collect: () => number) =>
    new client.Gauge({
      name,
      help,
      registers: reg,
      collect() {
        this.set(collect());
      },
    });
  // Counted by the fan-out on its hot path as plain numbers; read into counters at each scrape.
  new client.Counter({
    name: "chatz_messages_delivered_total",
    help: "Chat message events queued for sessions, by scope (one per receiving session)",
    labelNames: ["scope"],
    registers: reg,
    collect() {
      this.reset();
      const byScope: Record<string, number> = byScopeNow();
      for (const [scope, n] of Object.entries(byScope)) this.inc({ scope }, n);
    },
  });
  new client.Counter({
    name: "chatz_deliveries_queued_total",
    help: "Events of every kind queued for sessions",
    registers: reg,
    collect() {
      this.reset();
      this.inc(read((s) => s.deliveries().total));
    },
  });
  gauge("chatz_sessions", "Sessions logged in", () => read((s) => s.sessions.sessionCount));
  gauge(
    "chatz_users_online",
    "Accounts with at least one session",
    () => read((s) => s.sessions.accountCount),
  );
  gauge("chatz_accounts", "Accounts in the store", () => read((s) => s.store.accountCount()));
  gauge(
    "chatz_lagging_sessions",
    "Sessions whose queue is full (catching up from the store)",
    () => read((s) => [...s.sessions.all()].filter((session) => session.lagging?.active).length),
  );
  gauge(
    "chatz_store_bytes",
    "Size of the store's files on disk",
    () => read((s) => s.storeFiles.reduce((sum, path) => sum + fileSize(path), 0)),
  );
  gauge(
    "chatz_event_loop_lag_seconds",
    "Largest lateness of a timer on the serving thread in the last second",
    lag,
  );
}

/** Samples the serving thread's event loop lateness; `worst()` is the last second's largest. */
function sampleLoopLag(): { worst: () => number; stop: () => void } {
  let lag = 0;
  // A timer due every LAG_SAMPLE_MS fires late by as long as the loop was busy.
  let expected = performance.now() + LAG_SAMPLE_MS;
  let worst = 0;
  let samples = 0;
  const sampler = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, Math.max(0, now - expected) / 1000);
    expected = now + LAG_SAMPLE_MS;
    if (++samples % 2 === 0) {
      lag = worst;
      worst = 0;
    }
  }, LAG_SAMPLE_MS);
  Deno.unrefTimer(sampler);
  return { worst: () => lag, stop: () => clearInterval(sampler) };
}

/** Payload bytes of a message's frames (strings as UTF-8). */
function payloadBytes(frames: readonly (string | Uint8Array)[]): number {
  let bytes = 0;
  for (const frame of frames) {
    bytes += typeof frame === "string" ? Buffer.byteLength(frame) : frame.byteLength;
  }
  return bytes;
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0; // a WAL file between checkpoints may not exist
  }
}
