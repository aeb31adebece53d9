// The server log file in the data folder: one line per event, size-capped with numbered rotation.
// Reopened on SIGHUP for logrotate; `tail` and `clear` serve the operator's `logs` and `clear-logs`.

import {
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { LOG_LEVELS, type LogLevel } from "../log.ts";

/** Where and how big. */
export interface LogFileOptions {
  path: string;
  /** Size at which the file is rotated to `.1`. */
  maxBytes: number;
  /** Rotated files kept (`.1` newest … `.keep` oldest). */
  keep: number;
}

const encoder = new TextEncoder();

/** An append-only log file with rotation. */
export class LogFile {
  readonly #options: LogFileOptions;
  #fd: number;
  #size: number;
  /** Lines that could not be written since the last one that could, and why. */
  #dropped = 0;
  #dropError = "";

  constructor(options: LogFileOptions) {
    this.#options = options;
    this.#fd = openSync(options.path, "a", 0o600);
    this.#size = statSync(options.path).size;
  }

  get path(): string {
    return this.#options.path;
  }

  /**
   * Appends one line, rotating first when it would pass the size cap. A line that cannot be written
   * (a full disk) is dropped and counted, never thrown: the log must not end the server. The first
   * line written after drops is preceded by `dropNotice(count, error)`, which is also returned.
   */
  write(line: string, dropNotice?: (lines: number, error: string) => string): string | undefined {
    try {
      let notice: string | undefined;
      if (this.#dropped > 0 && dropNotice) {
        notice = dropNotice(this.#dropped, this.#dropError);
        this.#append(notice);
        this.#dropped = 0;
      }
      this.#append(line);
      return notice;
    } catch (error) {
      this.#dropped++;
      this.#dropError = (error as Error).message;
      return undefined;
    }
  }

  #append(line: string): void {
    const bytes = encoder.encode(line + "\n");
    if (this.#size > 0 && this.#size + bytes.byteLength > this.#options.maxBytes) this.rotate();
    const written = writeSync(this.#fd, bytes);
    this.#size += written;
    if (written < bytes.byteLength) {
      throw new Error(`short write: ${written} of ${bytes.byteLength}`);
    }
  }

  /** Moves the file to `.1` (shifting older ones) and starts an empty one. */
  rotate(): void {
    closeSync(this.#fd);
    const { path, keep } = this.#options;
    rmSync(`${path}.${keep}`, { force: true });
    for (let i = keep - 1; i >= 1; i--) {
      if (existsSync(`${path}.${i}`)) renameSync(`${path}.${i}`, `${path}.${i + 1}`);
    }
    if (keep > 0) renameSync(path, `${path}.1`);
    else rmSync(path, { force: true });
    this.#fd = openSync(path, "a", 0o600);
    this.#size = 0;
  }

  /** Closes and reopens the path: after logrotate moved the file away, logging goes to a new one. */
  reopen(): void {
    closeSync(this.#fd);
    this.#fd = openSync(this.#options.path, "a", 0o600);
    this.#size = statSync(this.#options.path).size;
  }

  /** The last `count` lines of the current file, of `minLevel` or more severe. */
  tail(count: number, minLevel: LogLevel = "debug"): string[] {
    const min = LOG_LEVELS.indexOf(minLevel);
    const lines = readFileSync(this.#options.path, "utf8").split("\n").filter((line) => {
      if (!line) return false;
      // A text line is `TIME LEVEL event ...`; a JSON line (--log-format json) has a "level" field.
      const level = (line.startsWith("{")
        ? /"level":"(\w+)"/.exec(line)?.[1]
        : line.split(" ", 3)[1]?.toLowerCase()) as LogLevel;
      return LOG_LEVELS.indexOf(level) >= min;
    });
    return lines.slice(-count);
  }

  /** Empties the current file; rotated files stay. */
  clear(): void {
    closeSync(this.#fd);
    this.#fd = openSync(this.#options.path, "w", 0o600);
    this.#size = 0;
  }

  close(): void {
    closeSync(this.#fd);
  }
}
