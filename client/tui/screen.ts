// The one module of the terminal clients that touches the terminal: raw mode, the alternate screen,
// bracketed paste, reading keys, writing rows, resizes, suspend and resume; full-screen and line mode.

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

/** What a program that owns the terminal writes through. */
interface Terminal {
  write(text: string): void;
  close(): void;
}

/**
 * Puts the terminal in cbreak mode (Ctrl-Z still suspends, Ctrl-C still interrupts), writes
 * `enter`, reads keys until closed, and on `fg` after a suspend takes it over again. `close`
 * writes `leave` and restores the terminal.
 */
function takeTerminal(handlers: ScreenHandlers, enter: string, leave: string): Terminal {
  let closed = false;
  const decoder = new KeyDecoder();
  const write = (text: string) => {
    const bytes = encoder.encode(text);
    let written = 0;
    while (written < bytes.length) written += Deno.stdout.writeSync(bytes.subarray(written));
  };
  const takeOver = () => {
    Deno.stdin.setRaw(true, { cbreak: true });
    write(enter);
  };
  const onResize = () => handlers.redraw();
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
    write: (text) => {
      if (!closed) write(text);
    },
    close() {
      if (closed) return;
      closed = true;
      Deno.removeSignalListener("SIGWINCH", onResize);
      Deno.removeSignalListener("SIGCONT", onContinue);
      Deno.removeSignalListener("SIGINT", onInterrupt);
      write(leave);
      Deno.stdin.setRaw(false);
    },
  };
}

/** Takes over the terminal for the full-screen client (stdin and stdout must be terminals). */
export function openScreen(handlers: ScreenHandlers): Screen {
  let previous: string[] = [];
  const terminal = takeTerminal(
    {
      ...handlers,
      redraw: () => {
        previous = [];
        handlers.redraw();
      },
    },
    ENTER,
    LEAVE,
  );
  return {
    size() {
      const { columns, rows } = Deno.consoleSize();
      return { columns: Math.max(10, columns), rows: Math.max(4, rows) };
    },
    draw(frame) {
      let out = "\x1b[?25l";
      frame.rows.forEach((row, i) => {
        if (previous[i] !== row) out += `\x1b[${i + 1};1H${row}\x1b[0m\x1b[K`;
      });
      previous = frame.rows;
      out += `\x1b[${frame.cursor.row + 1};${frame.cursor.column + 1}H\x1b[?25h`;
      terminal.write(out);
    },
    bell: () => terminal.write("\x07"),
    close: () => terminal.close(),
  };
}

/** A line printer with one input row at the bottom: line mode (`--plain`) on a terminal. */
export interface PromptLine {
  /** Columns now. */
  columns(): number;
  /** Prints text above the input row (line breaks allowed), then redraws the input row. */
  print(text: string): void;
  /** Draws the input row: the prompt, the visible input, the cursor `cursor` columns in. */
  input(prompt: string, text: string, cursor: number): void;
  bell(): void;
  /** Leaves the input row as it is, moves below it and restores the terminal. */
  close(): void;
}

/** Takes over the terminal for line mode: no alternate screen, bracketed paste on. */
export function openPromptLine(handlers: ScreenHandlers): PromptLine {
  let row = "";
  let cursorColumn = 0;
  const terminal = takeTerminal(handlers, "\x1b[?2004h", "\x1b[?2004l\r\n");
  const drawRow = () =>
    terminal.write(`\r\x1b[K${row}\r${cursorColumn > 0 ? `\x1b[${cursorColumn}C` : ""}`);
  return {
    columns: () => Math.max(10, Deno.consoleSize().columns),
    print(text) {
      // Raw mode writes a line feed without a carriage return: send both.
      terminal.write(`\r\x1b[K${text.replace(/\r?\n/g, "\r\n")}\r\n`);
      drawRow();
    },
    input(prompt, text, cursor) {
      row = prompt + text;
      cursorColumn = cursor;
      drawRow();
    },
    bell: () => terminal.write("\x07"),
    close: () => terminal.close(),
  };
}
