// Structured server logging: one record per event, with a level and fields, rendered as one line.
// Sinks decide where lines go (stderr, the log file, the operator console); texts and passwords never enter.

import { escapeUnsafe, isTerminalSafe, replaceUnsafe } from "../terminal/sanitize.ts";

/** Log levels, least severe first. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

/** How log lines are written: `text` for people, `json` for log shippers (one object a line). */
export const LOG_FORMATS = ["text", "json"] as const;

/** A log line format. */
export type LogFormat = typeof LOG_FORMATS[number];

/** How severe a record is. */
export type LogLevel = typeof LOG_LEVELS[number];

/** One logged event. */
export interface LogRecord {
  ts: number;
  level: LogLevel;
  event: string;
  fields: Record<string, unknown>;
}

/** Logs events with fields. */
export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

/** Tells whether a string names a log level. */
export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/** A logger whose level can change while it runs (a reloaded configuration). */
export interface AdjustableLogger extends Logger {
  setLevel(level: LogLevel): void;
}

/** A logger passing records at `level` or above to `sink`. */
export function createLogger(level: LogLevel, sink: (record: LogRecord) => void): AdjustableLogger {
  let min = LOG_LEVELS.indexOf(level);
  const at = (l: LogLevel) => (event: string, fields: Record<string, unknown> = {}) => {
    if (LOG_LEVELS.indexOf(l) >= min) sink({ ts: Date.now(), level: l, event, fields });
  };
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    setLevel(next) {
      min = LOG_LEVELS.indexOf(next);
    },
  };
}

/** Quotes a value as JSON, escaping also what JSON leaves raw (DEL, C1, bidi controls). */
function quote(text: string): string {
  return escapeUnsafe(JSON.stringify(text));
}

/** Replaces characters that could steer a terminal with "?", for short client-given labels. */
export function printable(text: string): string {
  return replaceUnsafe(text, "?");
}

/**
 * Renders a record as `TIME LEVEL event key=value ...`, quoting values with spaces.
 *
 * @example
 * ```ts
 * import { formatRecord } from "./log.ts";
 * formatRecord({ ts: 0, level: "info", event: "login", fields: { login: "bob" } });
 * // "1970-01-01T00:00:00.000Z INFO login login=bob"
 * ```
 */
export function formatRecord(record: LogRecord): string {
  let line = `${new Date(record.ts).toISOString()} ${record.level.toUpperCase()} ${record.event}`;
  for (const [key, value] of Object.entries(record.fields)) {
    if (value === undefined) continue;
    const text = value instanceof Error
      ? value.message
      : typeof value === "string"
      ? value
      : JSON.stringify(value);
    line += ` ${key}=${/^[^\s"=]+$/.test(text) && isTerminalSafe(text) ? text : quote(text)}`;
  }
  return line;
}

/**
 * Renders a record as one JSON object: `ts` (ISO 8601), `level`, `event`, then the fields. A field
 * named like one of the three is kept under a `field_` prefix, so no field hides them.
 *
 * @example
 * ```ts
 * import { formatJsonRecord } from "./log.ts";
 * formatJsonRecord({ ts: 0, level: "info", event: "login", fields: { login: "bob" } });
 * // '{"ts":"1970-01-01T00:00:00.000Z","level":"info","event":"login","login":"bob"}'
 * ```
 */
export function formatJsonRecord(record: LogRecord): string {
  const line: Record<string, unknown> = {
    ts: new Date(record.ts).toISOString(),
    level: record.level,
    event: record.event,
  };
  for (const [key, value] of Object.entries(record.fields)) {
    if (value === undefined) continue;
    const name = key in line ? `field_${key}` : key;
    line[name] = value instanceof Error ? value.message : value;
  }
  // JSON.stringify leaves DEL, C1 and bidi controls raw: escaped as the text format does.
  return escapeUnsafe(JSON.stringify(line));
}

/** The renderer of a log format. */
export function recordFormatter(format: LogFormat): (record: LogRecord) => string {
  return format === "json" ? formatJsonRecord : formatRecord;
}

/** Bytes in hex, for logs and tables: routing ids, CURVE client keys. */
export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
