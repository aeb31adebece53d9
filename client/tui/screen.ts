// The one module of the full-screen client that touches the terminal: raw mode, the alternate
// screen, bracketed paste, reading keys, writing changed rows, resizes, suspend and resume.

import { KeyDecoder, type KeyEvent } from "./keys.ts";
import type { Frame } from "./render.ts";

/** Escape sequences the screen writes (xterm; tmux, VTE, kitty and iTerm2 understand them). */
const ENTER = "\x1b[?1049h\x1b[?2004h\x1b[H\x1b[2J";
const LEAVE = "\x1b[?2004l\x1b[?1049l";

/** A terminal the full-screen client draws on. */
export interface Screen {
  /** Columns and rows now. */
  size(): { columns: number; rows: number };
  /** Draws a frame, writing only the rows that changed since the last one. */
  draw(frame: Frame): void;
  bell(): void;
  /** Restores the terminal as it was. */
  close(): void;
}

/** What the screen reports. */
export interface ScreenHandlers {
  key(event: KeyEvent): void;
  /** The size changed, or the program came back from a suspend: everything must be drawn. */
  redraw(): void;
  /** Ctrl-C, or stdin closed: leave. */
  quit(): void;
}

const encoder = new TextEncoder();

/** Takes over the terminal (stdin and stdout must be terminals). */
export function openScreen(handlers: ScreenHandlers): Screen {
  let previous: string[] = [];
  let closed = false;
  const decoder = new KeyDecoder();

  const write = (text: string) => {
    const bytes = encoder.encode(text);
    let written = 0;
    while (written < bytes.length) written += Deno.stdout.writeSync(bytes.subarray(written));
  };
  const takeOver = () => {
    // cbreak: the terminal still turns Ctrl-Z into SIGTSTP, so a shell's job control works.
    Deno.stdin.setRaw(true, { cbreak: true });
    write(ENTER);
    previous = [];
  };
  const onResize = () => {
    previous = [];
    handlers.redraw();
  };
  const onContinue = () => {
    // Back from Ctrl-Z and `fg`: the shell changed the terminal modes meanwhile.
    takeOver();
    handlers.redraw();
  };
  const onInterrupt = () => handlers.quit();
  takeOver();
  Deno.addSignalListener("SIGWINCH", onResize);
  Deno.addSignalListener("SIGCONT", onContinue);
  Deno.addSignalListener("SIGINT", onInterrupt);

  void (async () => {
    const text = new TextDecoder();
    const reader = Deno.stdin.readable.getReader();
    try {
      while (!closed) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const event of decoder.feed(text.decode(value, { stream: true }))) handlers.key(event);
        for (const event of decoder.flush()) handlers.key(event);
      }
    } catch (error) {
      if (!closed) throw error;
    } finally {
      reader.releaseLock();
    }
    if (!closed) handlers.quit();
  })();

  return {
    size() {
      const { columns, rows } = Deno.consoleSize();
      return { columns: Math.max(10, columns), rows: Math.max(4, rows) };
    },
    draw(frame) {
      if (closed) return;
      let out = "\x1b[?25l";
      frame.rows.forEach((row, i) => {
        if (previous[i] !== row) out += `\x1b[${i + 1};1H${row}\x1b[0m\x1b[K`;
      });
      previous = frame.rows;
      out += `\x1b[${frame.cursor.row + 1};${frame.cursor.column + 1}H\x1b[?25h`;
      write(out);
    },
    bell() {
      if (!closed) write("\x07");
    },
    close() {
      if (closed) return;
      closed = true;
      Deno.removeSignalListener("SIGWINCH", onResize);
      Deno.removeSignalListener("SIGCONT", onContinue);
      Deno.removeSignalListener("SIGINT", onInterrupt);
      write(LEAVE);
      Deno.stdin.setRaw(false);
    },
  };
}
