// Structured server logging: one record per event, with a level and fields, rendered as one line.
// Sinks decide where lines go (stderr, the log file, the operator console); texts and passwords never enter.

/** Log levels, least severe first. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

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

/** A logger passing records at `level` or above to `sink`. */
export function createLogger(level: LogLevel, sink: (record: LogRecord) => void): Logger {
  const min = LOG_LEVELS.indexOf(level);
  const at = (l: LogLevel) => (event: string, fields: Record<string, unknown> = {}) => {
    if (LOG_LEVELS.indexOf(l) >= min) sink({ ts: Date.now(), level: l, event, fields });
  };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** Characters that must not reach a terminal raw: C0 and C1 controls, DEL, bidi and line overrides. */
const UNSAFE = /[\p{Cc}\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;
const UNSAFE_ALL = new RegExp(UNSAFE.source, "gu");

/** Quotes a value as JSON, escaping also what JSON leaves raw (DEL, C1, bidi controls). */
function quote(text: string): string {
  return JSON.stringify(text).replace(
    UNSAFE_ALL,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** Replaces characters that could steer a terminal with "?", for short client-given labels. */
export function printable(text: string): string {
  return text.replace(UNSAFE_ALL, "?");
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
    line += ` ${key}=${/^[^\s"=]+$/.test(text) && !UNSAFE.test(text) ? text : quote(text)}`;
  }
  return line;
}
