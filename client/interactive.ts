// Line mode on a terminal (`--plain`): events printed as lines, one input row below them with
// history, Tab completion and bracketed paste. Parsing and rendering live in input.ts and format.ts.

import stringWidth from "string-width";
import type { ServerEvent } from "../protocol/mod.ts";
import { nameKey } from "../protocol/mod.ts";
import type { Connection } from "./connection.ts";
import { formatError, formatEvent, formatReply, oneLine } from "./format.ts";
import { parseInput, type SendAction } from "./input.ts";
import { complete, type CompletionState, onlineLogins, rememberLogins } from "./tui/completion.ts";
import { InputLine } from "./tui/input_line.ts";
import type { KeyEvent } from "./tui/keys.ts";
import { keyAction } from "./tui/keymap.ts";
import {
  isCancel,
  pasteOutcome,
  pastePrompt,
  secretAnswered,
  secretPrompt,
  type SecretQuestion,
  yesNo,
} from "./tui/questions.ts";
import { openPromptLine } from "./tui/screen.ts";

/** Options of `runInteractive`. */
export interface InteractiveOptions {
  /** Registers the handler of server events; events that came before it must be passed on at once. */
  subscribe(handler: (event: ServerEvent) => void): void;
  color: boolean;
}

/** Where line mode prints and draws its input row. */
export interface LineOutput {
  columns(): number;
  print(text: string): void;
  input(prompt: string, text: string, cursor: number): void;
}

/** What line mode needs of a connection. */
export type LineConnection = Pick<Connection, "session" | "command">;

/** A question the input row is answering instead of taking a chat line. */
type Question =
  | { kind: "paste"; text: string }
  | SecretQuestion & { kind: "secret" };

/** Line mode's behaviour without the terminal: keys in, lines and the input row out. */
export class LineMode {
  readonly input = new InputLine();
  /** Logins seen, most recent first, for completion. */
  readonly logins: string[] = [];
  #question?: Question;
  #completion?: CompletionState;
  /** The `list` request of the login, until a completion waited for it. */
  #listed?: Promise<void>;

  constructor(
    readonly conn: LineConnection,
    readonly output: LineOutput,
    readonly options: { color: boolean; quit(): void },
  ) {}

  /** Learns who is online, for completion, when the server has the `list` command. */
  start(): void {
    if (!this.conn.session.catalog.some((c) => c.name === "list")) return;
    this.#listed = this.conn.command("list").then((reply) => this.#learn(...onlineLogins(reply)));
  }

  /** A server event, printed above the input row. */
  event(event: ServerEvent): void {
    if (event.type === "message") this.#learn(event.from, event.to);
    if (event.type === "presence") this.#learn(event.login);
    this.output.print(
      formatEvent(event, { self: this.conn.session.login, color: this.options.color }),
    );
  }

  /** One key or paste from the terminal. */
  key(event: KeyEvent): void {
    if (!(event.kind === "key" && event.name === "tab")) this.#completion = undefined;
    if (!this.#question || !this.#answer(event)) this.#edit(event);
    this.redraw();
  }

  /** Draws the input row. */
  redraw(): void {
    const prompt = this.#prompt();
    const width = Math.max(1, this.output.columns() - stringWidth(prompt));
    const view = this.input.view(width);
    const text = this.#question?.kind === "secret" ? "*".repeat(view.cursorColumn) : view.text;
    this.output.input(prompt, text, stringWidth(prompt) + view.cursorColumn);
  }

  #edit(event: KeyEvent): void {
    if (event.kind === "text") return this.input.insert(event.text);
    if (event.kind === "paste") return this.#paste(event.text);
    const action = keyAction(event);
    if (action === undefined || "window" in action) return; // one window: nothing to switch
    if ("edit" in action) return this.input[action.edit]();
    if (action.do === "submit") return this.#submit();
    if (action.do === "complete") return this.#complete();
    if (action.do === "quit") return this.options.quit();
    if (action.do === "quit-if-empty") {
      return this.input.length === 0 ? this.options.quit() : this.input.deleteForward();
    }
  }

  #submit(): void {
    const text = this.input.text;
    const action = parseInput(text, this.conn.session.catalog);
    // A line with a password is never kept in input history.
    this.input.submit(!(action.kind === "send" && action.sensitive));
    this.output.print(`${this.#prompt()}${action.kind === "send" && action.sensitive ? "" : text}`);
    switch (action.kind) {
      case "quit":
        return this.options.quit();
      case "help":
        return this.output.print(action.text);
      case "error":
        return this.output.print(formatError(action.code, action.message, this.options));
      case "send":
        if (action.missingSecrets) {
          this.#question = { kind: "secret", action, names: action.missingSecrets, values: [] };
          return;
        }
        return this.#send(action);
    }
  }

  #send(action: Pick<SendAction, "cmd" | "args">): void {
    // Sent messages come back as events (`echo` at login); the reply shows only errors and text.
    void this.conn.command(action.cmd, action.args).then((reply) => {
      const line = formatReply(reply, { self: this.conn.session.login, color: this.options.color });
      if (line !== undefined) this.output.print(line);
    });
  }

  #complete(): void {
    const before = this.input.beforeCursor;
    const after = this.input.text.slice(before.length);
    const self = nameKey(this.conn.session.login);
    const done = complete(before, after, {
      catalog: this.conn.session.catalog,
      logins: this.logins.filter((l) => nameKey(l) !== self),
      groups: [],
      clientCommands: [],
    }, this.#completion);
    if (!done) {
      // Tab right after login, before the server said who is online: complete once it has.
      const line = this.input.text;
      void this.#listed?.then(() => {
        if (this.input.text !== line) return;
        this.#listed = undefined;
        this.#complete();
        this.redraw();
      });
      return;
    }
    this.#completion = done.state;
    this.input.setAround(done.before, done.after);
  }

  /** A paste: one line goes into the input; several lines ask once, then go as one message. */
  #paste(text: string): void {
    if (!text.includes("\n")) return this.input.insert(text);
    const outcome = pasteOutcome(this.input.submit(false), text);
    if ("line" in outcome) return this.input.set(outcome.line);
    this.#question = { kind: "paste", text: outcome.message };
  }

  /** Handles a key while a question is open; false lets it through to the input row. */
  #answer(event: KeyEvent): boolean {
    const question = this.#question!;
    if (question.kind === "secret") {
      if (isCancel(event)) {
        this.#question = undefined;
        this.input.submit(false);
        this.output.print("-!- Cancelled");
        return true;
      }
      if (!(event.kind === "key" && event.name === "enter")) return false;
      const outcome = secretAnswered(question, this.input.submit(false));
      if ("next" in outcome) return true;
      this.#question = undefined;
      if ("error" in outcome) {
        this.output.print(formatError("bad_arguments", outcome.error, this.options));
      } else this.#send(outcome.done);
      return true;
    }
    const answer = yesNo(event);
    if (answer === undefined) return true;
    this.#question = undefined;
    if (answer === "yes") this.#send({ cmd: "say", args: question.text });
    else this.output.print("-!- Paste cancelled");
    return true;
  }

  #prompt(): string {
    const question = this.#question;
    if (question?.kind === "paste") return pastePrompt(question.text);
    if (question?.kind === "secret") return secretPrompt(question);
    return `${oneLine(this.conn.session.login)}> `;
  }

  #learn(...logins: (string | undefined)[]): void {
    rememberLogins(this.logins, ...logins);
  }
}

/**
 * Runs line mode on the terminal until `/quit`, Ctrl-C, Ctrl-D on an empty line (exit code 0,
 * after logging out) or a `bye` from the server (exit code 1).
 */
export function runInteractive(
  connection: Connection,
  options: InteractiveOptions,
): Promise<number> {
  const { login: self, server } = connection.session;
  let finished = false;
  let resolveExit: (code: number) => void = () => {};
  const exit = new Promise<number>((resolve) => resolveExit = resolve);
  const leave = async (code: number, logout: boolean) => {
    if (finished) return;
    finished = true;
    terminal.close();
    await connection.close({ logout });
    resolveExit(code);
  };
  const terminal = openPromptLine({
    key: (event) => mode.key(event),
    redraw: () => mode.redraw(),
    quit: () => void leave(0, true),
  });
  const mode = new LineMode(connection, terminal, {
    color: options.color,
    quit: () => void leave(0, true),
  });
  const registered = connection.session.registered ? ", new account registered" : "";
  terminal.print(
    `-!- Logged in as ${oneLine(self)} on ${oneLine(server.name)} ${oneLine(server.version)}` +
      `${registered}. Type /help for commands, /quit to leave.`,
  );
  options.subscribe((event) => {
    if (finished) return;
    mode.event(event);
    if (event.type === "bye") void leave(1, false);
  });
  mode.start();
  mode.redraw();
  return exit;
}
