// The terminal chat UI: a readline prompt with history, incoming lines printed above what is typed.
// Thin on purpose: parsing and rendering live in input.ts and format.ts.

import process from "node:process";
import { clearScreenDown, createInterface, cursorTo } from "node:readline";
import { writeAbovePrompt } from "../terminal/above_prompt.ts";
import type { ServerEvent } from "../protocol/mod.ts";
import type { Connection } from "./connection.ts";
import { formatError, formatEvent, formatReply, oneLine } from "./format.ts";
import { appendSecrets, parseInput, type SendAction } from "./input.ts";
import { promptSecret } from "./password.ts";

/** Lines kept in the in-memory input history. */
const HISTORY_SIZE = 500;

/** Options of `runInteractive`. */
export interface InteractiveOptions {
  /** Registers the handler of server events; events that came before it must be passed on at once. */
  subscribe(handler: (event: ServerEvent) => void): void;
  color: boolean;
}

/**
 * Runs the chat prompt on the terminal until `/quit`, Ctrl-C, Ctrl-D (exit code 0, after logging
 * out) or a `bye` from the server (exit code 1).
 */
export function runInteractive(
  connection: Connection,
  options: InteractiveOptions,
): Promise<number> {
  // The catalog is read at each use: every (re)login brings the server's current one.
  const { login: self, server } = connection.session;
  const color = options.color;
  const output = process.stdout;
  const rl = createInterface({
    input: process.stdin,
    output,
    terminal: true,
    prompt: `${oneLine(self)}> `,
    historySize: HISTORY_SIZE,
    removeHistoryDuplicates: true,
  });

  let finished = false;
  let asking = false; // a hidden prompt owns the terminal: hold other output back
  const held: string[] = [];
  let resolveExit: (code: number) => void = () => {};
  const exit = new Promise<number>((resolve) => resolveExit = resolve);

  /** Prints a line above the prompt and redraws the prompt with whatever is typed so far. */
  function show(text: string): void {
    if (finished) return;
    if (asking) {
      held.push(text);
      return;
    }
    writeAbovePrompt(rl, output, text);
  }

  /** Ends the session; `ending` says what to do with the prompt line the cursor is on. */
  async function leave(code: number, logout: boolean, ending: "newline" | "erase" | "none") {
    if (finished) return;
    finished = true;
    rl.close();
    if (ending === "newline") output.write("\n");
    if (ending === "erase") {
      cursorTo(output, 0);
      clearScreenDown(output);
    }
    await connection.close({ logout });
    resolveExit(code);
  }

  function send(action: SendAction): void {
    // Sent messages come back as events (`echo` at login); the reply shows only errors and text.
    connection.command(action.cmd, action.args).then((reply) => {
      const line = formatReply(reply, { self, color });
      if (line !== undefined) show(line);
    });
  }

  /** Asks for the secrets a command line left out; undefined when the user gave up. */
  async function askSecrets(action: SendAction & { missingSecrets: string[] }) {
    asking = true;
    rl.pause();
    const secrets: string[] = [];
    try {
      for (const name of action.missingSecrets) {
        const value = await promptSecret(`${name}: `);
        if (value === null) return undefined;
        if (value === "" || /\s/.test(value)) {
          show(
            formatError("bad_arguments", `Cannot use secret "${name}": it must be one word`, {
              color,
            }),
          );
          return undefined;
        }
        secrets.push(value);
      }
      return appendSecrets(action, secrets);
    } finally {
      // promptSecret leaves cooked mode behind; readline needs raw mode back for line editing.
      process.stdin.setRawMode(true);
      asking = false;
      rl.resume();
      for (const text of held.splice(0)) show(text);
    }
  }

  async function handle(line: string): Promise<void> {
    const action = parseInput(line, connection.session.catalog);
    switch (action.kind) {
      case "none":
        break;
      case "quit":
        await leave(0, true, "none"); // the submitted line already moved to a fresh row
        return;
      case "help":
        show(action.text);
        break;
      case "error":
        show(formatError(action.code, action.message, { color }));
        break;
      case "send": {
        if (action.missingSecrets) {
          const filled = await askSecrets({ ...action, missingSecrets: action.missingSecrets });
          if (filled === undefined) show("-!- Cancelled");
          else send(filled);
        } else send(action);
        break;
      }
    }
    if (!finished) rl.prompt();
  }

  // Never keep a line of a command that takes secrets: the 'history' listener may edit the array.
  rl.on("history", (history: string[]) => {
    const newest = history[0];
    if (newest === undefined) return;
    const action = parseInput(newest, connection.session.catalog);
    if (action.kind === "send" && action.sensitive) history.shift();
  });
  rl.on("line", (line) => void handle(line));
  rl.on("SIGINT", () => void leave(0, true, "newline")); // Ctrl-C
  rl.on("close", () => void leave(0, true, "newline")); // Ctrl-D, or stdin gone

  const registered = connection.session.registered ? ", new account registered" : "";
  output.write(
    `-!- Logged in as ${oneLine(self)} on ${oneLine(server.name)} ${oneLine(server.version)}` +
      `${registered}. Type /help for commands, /quit to leave.\n`,
  );
  rl.prompt();
  options.subscribe((event) => {
    show(formatEvent(event, { self, color }));
    if (event.type === "bye") void leave(1, false, "erase");
  });
  return exit;
}
