// Runs the full-screen client on the terminal: wires the connection's events, the app and the
// screen together, redraws on change (at most once per event-loop turn) and on the minute.

import type { ServerEvent } from "../../protocol/mod.ts";
import type { Connection, ConnectionStatus } from "../connection.ts";
import { oneLine } from "../format.ts";
import { ChatApp } from "./app.ts";
import { openScreen } from "./screen.ts";

/** Options of `runFullScreen`. */
export interface FullScreenOptions {
  /** Registers the handler of server events; events that came before it must be passed on at once. */
  subscribe(handler: (event: ServerEvent) => void): void;
  /** Registers the handler of connection state changes. */
  subscribeStatus(handler: (status: ConnectionStatus) => void): void;
  color: boolean;
  /** Words besides the login that highlight a message. */
  highlightWords: readonly string[];
  /** Ring the terminal bell on mentions and direct messages. */
  bell: boolean;
  /** The server endpoint, for the title line. */
  server: string;
  /** Whether the connection is encrypted with CURVE, for the title line. */
  encrypted: boolean;
  /** Warning lines for stderr kept while the screen was up (a changed server key's banner). */
  heldWarnings?: () => readonly string[];
}

/** How often the status line's clock is redrawn. */
const CLOCK_MS = 15_000;

/** How often the round trip to the server is measured for the status line's lag. */
const LAG_MS = 10_000;

/**
 * Runs until /quit, Ctrl-C, Ctrl-D on an empty line (exit code 0, after logging out) or a `bye`
 * from the server (exit code 1).
 */
export function runFullScreen(connection: Connection, options: FullScreenOptions): Promise<number> {
  let resolveExit: (code: number) => void = () => {};
  const exit = new Promise<number>((resolve) => resolveExit = resolve);
  let finished = false;
  let scheduled = false;

  const session = connection.session;
  // The version and login come from the server: through the sanitizer like every peer text.
  const title = ` chatz ${oneLine(session.server.version)} · ${oneLine(options.server)} · ${
    oneLine(session.login)
  } · ${options.encrypted ? "encrypted (CURVE)" : "NOT encrypted"}`;
  const draw = () => {
    scheduled = false;
    if (finished) return;
    const { columns, rows } = screen.size();
    screen.draw(app.frame(columns, rows));
  };
  const changed = () => {
    if (scheduled || finished) return;
    scheduled = true;
    setTimeout(draw, 0);
  };
  const leave = async (code: number, logout: boolean, farewell?: () => void) => {
    if (finished) return;
    finished = true;
    clearInterval(clock);
    clearInterval(lag);
    screen.close();
    await connection.close({ logout });
    farewell?.();
    resolveExit(code);
  };

  const app = new ChatApp(connection, {
    color: options.color,
    highlightWords: options.highlightWords,
    title,
    changed,
    bell: options.bell ? () => screen.bell() : undefined,
    quit: () => void leave(0, true),
  });
  const screen = openScreen({
    key: (event) => app.key(event),
    redraw: changed,
    quit: () => void leave(0, true),
  });
  const clock = setInterval(changed, CLOCK_MS);
  let online = true;
  const measureLag = async () => {
    const sent = Date.now();
    const reply = await connection.request({ op: "ping" });
    if (online && reply.ok) app.connection = `lag ${Date.now() - sent} ms`;
    changed();
  };
  const lag = setInterval(() => void measureLag(), LAG_MS);
  void measureLag();

  options.subscribeStatus((status) => {
    online = status.state === "online";
    app.connection = status.state === "online" ? "online" : `reconnecting (${status.attempt})`;
    changed();
  });
  options.subscribe((event) => {
    app.event(event);
    if (event.type === "bye") {
      // Show why, then give the terminal back.
      draw();
      // Printed on the terminal given back, before the exit code is: nothing can cut it off.
      void leave(1, false, () => {
        for (const line of options.heldWarnings?.() ?? []) console.error(`chatz: ${line}`);
        console.error(`chatz: session ended: ${oneLine(event.message)} (${oneLine(event.code)})`);
      });
    }
  });
  app.start();
  draw();
  return exit;
}
