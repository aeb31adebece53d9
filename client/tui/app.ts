// The full-screen client's behaviour: keys, the input line, client commands (/window, /query,
// /close, /history), server events and replies, turned into changes of the window model.

import type { LoginData, Reply, ServerEvent } from "../../protocol/mod.ts";
import { nameKey } from "../../protocol/mod.ts";
import { historyMessages } from "../format.ts";
import { parseInput, resolveCommand, splitWord } from "../input.ts";
import {
  complete,
  type CompletionSource,
  type CompletionState,
  onlineLogins,
  rememberLogins,
} from "./completion.ts";
import { InputLine } from "./input_line.ts";
import { type KeyAction, keyAction } from "./keymap.ts";
import {
  isCancel,
  pasteOutcome,
  pastePrompt,
  secretAnswered,
  secretPrompt,
  type SecretQuestion,
  yesNo,
} from "./questions.ts";
import type { KeyEvent } from "./keys.ts";
import stringWidth from "string-width";
import {
  CHROME_ROWS,
  fitPrompt,
  type Frame,
  lineRows,
  renderScreen,
  windowLabel,
} from "./render.ts";
import { messageLine, type RouteContext, routeEvent } from "./route.ts";
import { createHighlighter } from "./style.ts";
import {
  ACTIVITY,
  appendLine,
  type ChatWindow,
  closeWindow,
  createWindowList,
  currentWindow,
  findWindow,
  type NewLine,
  openWindow,
  prependHistory,
  switchBy,
  switchTo,
  type WindowList,
} from "./windows.ts";

/** Messages of backlog shown when a window opens, as irssi's and WeeChat's backlog defaults. */
export const BACKLOG_COUNT = 50;

/** Commands the full-screen client handles itself, besides /help and /quit. */
export const CLIENT_COMMANDS = ["window", "query", "close", "history"] as const;

/** What the app needs of a connection. */
export interface AppConnection {
  readonly session: LoginData;
  command(cmd: string, args?: string): Promise<Reply>;
}

/** How the app is set up. */
export interface AppOptions {
  color: boolean;
  /** Words besides the own login that highlight a message (`--highlight`). */
  highlightWords: readonly string[];
  /** Text of the title line. */
  title: string;
  /** Called when something on screen changed. */
  changed(): void;
  /** Rings the terminal bell (a mention or a direct message); absent when the bell is off. */
  bell?: () => void;
  /** The user asked to quit. */
  quit(): void;
}

/** A question the input line is answering instead of taking a chat line. */
type Question =
  | { kind: "paste"; text: string; window: ChatWindow }
  | { kind: "leave"; window: ChatWindow }
  | SecretQuestion & { kind: "secret" };

/** The full-screen client's state and behaviour, without the terminal. */
export class ChatApp {
  readonly windows: WindowList = createWindowList();
  readonly input = new InputLine();
  /** Logins for completion: most recently active first. */
  readonly logins: string[] = [];
  /** Group names the user knows of. */
  readonly groups = new Set<string>();
  connection = "online";
  #completion?: CompletionState;
  /** The `list` request of the login, until a completion waited for it. */
  #listed?: Promise<void>;
  #question?: Question;
  /** The size of the last frame drawn: scrolling and wrapping follow it. */
  #width = 80;
  #height = 24;
  readonly #route: RouteContext;

  constructor(readonly conn: AppConnection, readonly options: AppOptions) {
    this.#route = {
      self: conn.session.login,
      highlights: createHighlighter(conn.session.login, options.highlightWords),
    };
  }

  get self(): string {
    return this.conn.session.login;
  }

  /** After login: the public room's backlog, a window per group the user is in, who is online. */
  start(): void {
    const welcome = this.conn.session.registered ? "New account registered. " : "";
    this.#notice(
      this.windows.windows[0],
      `${welcome}Type /help for commands; Alt-1…9 or /window N switch windows, Tab completes.`,
    );
    this.#loadBacklog(this.windows.windows[0], true);
    if (this.#has("group list")) {
      void this.conn.command("group", "list").then((reply) => this.#groupsListed(reply));
    }
    if (this.#has("list")) {
      this.#listed = this.conn.command("list").then((reply) => this.#usersListed(reply));
    }
  }

  /** Draws the screen at the given size. */
  frame(width: number, height: number): Frame {
    this.#width = width;
    this.#height = height;
    return renderScreen(
      {
        windows: this.windows,
        self: this.self,
        title: this.options.title,
        connection: this.connection,
        prompt: this.#prompt(),
        input: this.#inputView(width),
        color: this.options.color,
      },
      width,
      height,
    );
  }

  /** A server event: into its window; a new window gets its backlog. */
  event(event: ServerEvent): void {
    const current = currentWindow(this.windows);
    const before = current.lines.length;
    if (event.type === "message") this.#learnLogin(event.from, event.to);
    if (event.type === "presence") this.#presence(event.login, event.state);
    if (event.type === "group") this.#groupEvent(event.group, event.action, event.login);
    const routed = routeEvent(this.windows, event, this.#route);
    if (routed.opened) this.#loadBacklog(routed.opened, true);
    if (routed.bell) this.options.bell?.();
    this.#keepScroll(current, before);
    this.options.changed();
  }

  /** One key or paste from the terminal. */
  key(event: KeyEvent): void {
    if (!(event.kind === "key" && (event.name === "tab" || event.name === "backtab"))) {
      this.#completion = undefined;
    }
    if (this.#question && this.#answer(event)) {
      this.options.changed();
      return;
    }
    if (event.kind === "text") this.input.insert(event.text);
    else if (event.kind === "paste") this.#paste(event.text);
    else {
      const action = keyAction(event);
      if (action) this.#perform(action);
    }
    this.options.changed();
  }

  #perform(action: KeyAction): void {
    if ("edit" in action) return this.input[action.edit]();
    if ("window" in action) return void switchTo(this.windows, action.window);
    const window = currentWindow(this.windows);
    const page = Math.max(1, this.#area - 2);
    switch (action.do) {
      case "submit":
        return this.#submit();
      case "complete":
        return this.#complete(1);
      case "complete-back":
        return this.#complete(-1);
      case "quit":
        return this.options.quit();
      case "quit-if-empty":
        return this.input.length === 0 ? this.options.quit() : this.input.deleteForward();
      case "page-up":
        window.scroll += page;
        return;
      case "page-down":
        window.scroll = Math.max(0, window.scroll - page);
        return;
      case "next-window":
        return void switchBy(this.windows, 1);
      case "previous-window":
        return void switchBy(this.windows, -1);
    }
  }

  #complete(step: 1 | -1): void {
    const before = this.input.beforeCursor;
    const after = this.input.text.slice(before.length);
    const source: CompletionSource = {
      catalog: this.conn.session.catalog,
      logins: this.logins.filter((l) => nameKey(l) !== nameKey(this.self)),
      groups: [...this.groups],
      clientCommands: CLIENT_COMMANDS,
    };
    const done = complete(before, after, source, this.#completion, step);
    if (!done) {
      // Tab right after login, before the server said who is online: complete once it has.
      const line = this.input.text;
      void this.#listed?.then(() => {
        if (this.input.text !== line) return;
        this.#listed = undefined;
        this.#complete(step);
        this.options.changed();
      });
      return;
    }
    this.#completion = done.state;
    this.input.setAround(done.before, done.after);
  }

  #submit(): void {
    const line = this.input.text;
    const action = parseInput(line, this.conn.session.catalog);
    // A line with a password is never kept in input history.
    this.input.submit(!(action.kind === "send" && action.sensitive));
    if (line.trim() === "") return;
    const window = currentWindow(this.windows);
    if (!line.startsWith("/") || line.startsWith("//")) {
      return this.#say(window, line.startsWith("//") ? line.slice(1) : line);
    }
    const [word, rest] = splitWord(line.slice(1));
    const name = word.toLowerCase();
    if (name === "window") return this.#windowCommand(rest.trim());
    if (name === "query") return this.#query(rest);
    if (name === "close") return this.#close(window);
    if (name === "history") return this.#history(window, rest.trim());
    if (name === "me" && window.kind !== "public") {
      return this.#error(window, "Cannot send an action here: /me goes to the public room only");
    }
    switch (action.kind) {
      case "quit":
        return this.options.quit();
      case "help":
        this.#notice(window, action.text);
        this.#notice(window, CLIENT_HELP);
        return;
      case "error":
        return this.#error(window, `${action.message} (${action.code})`);
      case "send":
        if (action.missingSecrets) {
          this.#question = { kind: "secret", action, names: action.missingSecrets, values: [] };
          return;
        }
        return this.#send(action.cmd, action.args, window);
    }
  }

  /** A plain line (or a confirmed paste): a message to the window's conversation. */
  #say(window: ChatWindow, text: string): void {
    if (window.kind === "group") this.#send("group", `say ${window.name} ${text}`, window);
    else if (window.kind === "query") this.#send("msg", `${window.name} ${text}`, window);
    else this.#send("say", text, window);
  }

  /** Runs a command; its reply's text (or error) shows in the window it was typed in. */
  #send(cmd: string, args: string, window: ChatWindow): void {
    void this.conn.command(cmd, args).then((reply) => {
      if (!reply.ok) this.#error(window, `${reply.message} (${reply.code})`);
      else {
        // History pages from a typed /history TARGET go to the window typed in, as text.
        for (const message of historyMessages(reply)) {
          appendLine(this.windows, window, messageLine(message, this.#route), ACTIVITY.none);
        }
        if (reply.text) this.#notice(window, reply.text);
        this.#groupCommandDone(cmd, args, reply.data);
      }
      this.options.changed();
    });
  }

  /** After joining or creating a group its window opens and shows; after leaving it closes. */
  #groupCommandDone(cmd: string, args: string, data: unknown): void {
    const resolved = resolveCommand(this.conn.session.catalog, cmd, args);
    const name = resolved?.info.name;
    const group = isRecord(data) && typeof data.name === "string" ? data.name : undefined;
    if ((name === "group join" || name === "group create") && group !== undefined) {
      this.groups.add(group);
      const { window, opened } = openWindow(this.windows, "group", group);
      if (opened) this.#loadBacklog(window, true);
      switchTo(this.windows, this.windows.windows.indexOf(window));
    } else if (name === "group leave" && resolved) {
      const left = findWindow(this.windows, "group", splitWord(resolved.rest)[0]);
      if (left) closeWindow(this.windows, left);
    }
  }

  #windowCommand(arg: string): void {
    const window = currentWindow(this.windows);
    const n = Number(arg);
    if (arg === "next") switchBy(this.windows, 1);
    else if (arg === "prev") switchBy(this.windows, -1);
    else if (!Number.isInteger(n) || n < 1 || n > this.windows.windows.length) {
      const list = this.windows.windows.map((w, i) => `${i + 1}:${windowLabel(w)}`).join(" ");
      this.#error(window, `Cannot switch to window "${arg}": windows are ${list}`);
    } else switchTo(this.windows, n - 1);
  }

  /** `/query LOGIN [text]`: opens (and shows) the direct conversation with LOGIN. */
  #query(rest: string): void {
    const [login, text] = splitWord(rest);
    if (login === "") {
      return this.#error(currentWindow(this.windows), "Cannot open a query: /query LOGIN [text]");
    }
    const { window, opened } = openWindow(this.windows, "query", login);
    switchTo(this.windows, this.windows.windows.indexOf(window));
    if (opened) this.#loadBacklog(window, true);
    if (text.trim() !== "") this.#say(window, text);
  }

  /** `/close`: a query closes at once; a group window asks before leaving the group. */
  #close(window: ChatWindow): void {
    if (window.kind === "public") {
      return this.#error(window, "Cannot close the public room's window");
    }
    if (window.kind === "query") {
      closeWindow(this.windows, window);
      return;
    }
    this.#question = { kind: "leave", window };
  }

  /** `/history [N]`: N more messages (default 50) before the oldest in this window. */
  #history(window: ChatWindow, arg: string): void {
    if (arg !== "" && !/^\d+$/.test(arg)) {
      // `/history TARGET …` as the server knows it: the page goes to this window as text.
      return this.#send("history", arg, window);
    }
    const count = arg === "" ? BACKLOG_COUNT : Number(arg);
    void this.conn.command("history", historyArgs(window, count, window.oldestId)).then(
      (reply) => {
        if (!reply.ok) this.#error(window, `${reply.message} (${reply.code})`);
        else {
          const lines = historyMessages(reply).map((m) => messageLine(m, this.#route));
          const added = prependHistory(this.windows, window, lines);
          this.#notice(
            window,
            added === 0
              ? "No older messages"
              : `${added} older messages above: PageUp to read them`,
          );
        }
        this.options.changed();
      },
    );
  }

  /** Handles a key while a question is open; false lets the key through to the input line. */
  #answer(event: KeyEvent): boolean {
    const question = this.#question!;
    if (question.kind === "secret") return this.#answerSecret(question, event);
    const answer = yesNo(event);
    if (answer === undefined) return true;
    this.#question = undefined;
    if (question.kind === "paste") {
      if (answer === "yes") this.#say(question.window, question.text);
      else this.#notice(question.window, "Paste cancelled");
    } else if (answer === "yes") {
      const window = question.window;
      void this.conn.command("group", `leave ${window.name}`).then((reply) => {
        if (reply.ok) closeWindow(this.windows, window);
        else this.#error(window, `${reply.message} (${reply.code})`);
        this.options.changed();
      });
    }
    return true;
  }

  #answerSecret(question: SecretQuestion, event: KeyEvent): boolean {
    const window = currentWindow(this.windows);
    if (isCancel(event)) {
      this.#question = undefined;
      this.input.submit(false);
      this.#notice(window, "Cancelled");
      return true;
    }
    if (!(event.kind === "key" && event.name === "enter")) return false;
    const outcome = secretAnswered(question, this.input.submit(false));
    if ("next" in outcome) return true;
    this.#question = undefined;
    if ("error" in outcome) this.#error(window, outcome.error);
    else this.#send(outcome.done.cmd, outcome.done.args, window);
    return true;
  }

  /** A paste: one line goes into the input; several lines ask once, then go as one message. */
  #paste(text: string): void {
    if (!text.includes("\n")) return this.input.insert(text);
    const outcome = pasteOutcome(this.input.submit(false), text);
    if ("line" in outcome) return this.input.set(outcome.line);
    this.#question = { kind: "paste", text: outcome.message, window: currentWindow(this.windows) };
  }

  #prompt(): string {
    const question = this.#question;
    if (question?.kind === "paste") return pastePrompt(question.text, windowLabel(question.window));
    if (question?.kind === "leave") {
      return `Leave ${windowLabel(question.window)} and close its window? (y/n) `;
    }
    if (question?.kind === "secret") return secretPrompt(question);
    return `[${windowLabel(currentWindow(this.windows))}] `;
  }

  #inputView(width: number) {
    const promptWidth = stringWidth(fitPrompt(this.#prompt(), width));
    const view = this.input.view(Math.max(1, width - promptWidth));
    if (this.#question?.kind !== "secret") return view;
    return { text: "*".repeat(view.cursorColumn), cursorColumn: view.cursorColumn };
  }

  /** Rows of the message area in the last frame drawn. */
  get #area(): number {
    return Math.max(1, this.#height - CHROME_ROWS);
  }

  #loadBacklog(window: ChatWindow, withSeparator: boolean): void {
    if (window.backlogRequested || !this.#has("history")) return;
    window.backlogRequested = true;
    void this.conn.command("history", historyArgs(window, BACKLOG_COUNT)).then((reply) => {
      if (!reply.ok) return;
      const lines = historyMessages(reply).map((m) => messageLine(m, this.#route));
      for (const message of historyMessages(reply)) this.#learnLogin(message.from, message.to);
      prependHistory(this.windows, window, lines, withSeparator ? "end of backlog" : undefined);
      this.options.changed();
    });
  }

  #groupsListed(reply: Reply): void {
    if (!reply.ok) return;
    const groups = (reply.data as { groups?: { name?: unknown; member?: unknown }[] })?.groups;
    if (!Array.isArray(groups)) return;
    for (const group of groups) {
      if (typeof group.name !== "string") continue;
      this.groups.add(group.name);
      if (group.member === true) {
        const { window, opened } = openWindow(this.windows, "group", group.name);
        if (opened) this.#loadBacklog(window, true);
      }
    }
    this.options.changed();
  }

  #usersListed(reply: Reply): void {
    this.#learnLogin(...onlineLogins(reply));
  }

  #presence(login: string, state: string): void {
    if (state === "online") this.#learnLogin(login);
  }

  #groupEvent(group: string, action: string, login: string): void {
    if (action === "delete") this.groups.delete(group);
    else this.groups.add(group);
    // Joining elsewhere (another session of this account) opens the window here too.
    if (action === "join" && nameKey(login) === nameKey(this.self)) {
      const { window, opened } = openWindow(this.windows, "group", group);
      if (opened) this.#loadBacklog(window, true);
    }
    this.#learnLogin(login);
  }

  #learnLogin(...logins: (string | undefined)[]): void {
    rememberLogins(this.logins, ...logins);
  }

  /** Keeps a scrolled-up view still while lines arrive below it. */
  #keepScroll(window: ChatWindow, before: number): void {
    if (window.scroll === 0 || window !== currentWindow(this.windows)) return;
    const options = { self: this.self, color: this.options.color };
    for (const line of window.lines.slice(before)) {
      window.scroll += lineRows(line, options, this.#width).length;
    }
  }

  #has(name: string): boolean {
    return this.conn.session.catalog.some((c) => c.name === name);
  }

  #notice(window: ChatWindow, text: string): void {
    appendLine(this.windows, window, { kind: "notice", ts: Date.now(), text } as NewLine, 0);
  }

  #error(window: ChatWindow, text: string): void {
    appendLine(this.windows, window, { kind: "error", ts: Date.now(), text } as NewLine, 0);
  }
}

/** The `history` arguments for a window's conversation. */
export function historyArgs(window: ChatWindow, count: number, before?: number): string {
  const target = window.kind === "public"
    ? "public"
    : window.kind === "group"
    ? `#${window.name}`
    : window.name;
  return [target, count, ...(before === undefined ? [] : [before])].join(" ");
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const CLIENT_HELP = [
  "Windows: /window N (or Alt-N), Alt-Left/Right or Ctrl-P/N, /query LOGIN [text], /close;",
  "/history [N] loads N older messages of this window; PageUp/PageDown scroll; Tab completes.",
].join("\n");
