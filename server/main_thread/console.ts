// The operator console: a prompt on the server's terminal (or stdin with --console) running operator commands.
// Live warnings and errors print above the prompt; confirmations read the next line.

import { createInterface, type Interface } from "node:readline";
import { type PromptOutput, writeAbovePrompt } from "../../terminal/above_prompt.ts";

/** Options of the console. */
export interface ConsoleOptions {
  /** True on a terminal: prompt, line editing, history. False: plain lines in and out. */
  terminal: boolean;
  /** Runs one command line; returns what to print. */
  run(
    line: string,
    confirm: (question: string) => Promise<boolean>,
    secret: (label: string) => Promise<string | undefined>,
  ): Promise<string>;
  /**
   * Stop the server: Ctrl-C twice within INTERRUPT_WINDOW_MS on an empty line. One Ctrl-C only
   * clears the line, as in a shell: a slip of the finger does not end everyone's sessions.
   */
  onInterrupt(): void;
  /** Where lines come from and go to; default the process's stdin and stdout (tests pass streams). */
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  /** The clock, for the Ctrl-C window. */
  now?: () => number;
}

/** A running console. */
export interface OperatorConsole {
  /** Prints a line without garbling the prompt. */
  show(text: string): void;
  close(): void;
  /** Settles when input ends or the console is closed. */
  readonly ended: Promise<void>;
}

const PROMPT = "chatz> ";
/** A second Ctrl-C on an empty line within this long stops the server (a first one only warns). */
export const INTERRUPT_WINDOW_MS = 2000;

/**
 * What Ctrl-C on the console does: clear a typed line; on an empty line, warn, or stop when the
 * previous Ctrl-C on an empty line came within INTERRUPT_WINDOW_MS.
 */
export function interruptAction(
  line: string,
  previousEmptyAt: number | undefined,
  now: number,
): "clear" | "warn" | "stop" {
  if (line !== "") return "clear";
  if (previousEmptyAt !== undefined && now - previousEmptyAt <= INTERRUPT_WINDOW_MS) return "stop";
  return "warn";
}

/** What the console's questions and its Ctrl-C handling work with. */
interface ConsoleLines {
  rl: Interface;
  terminal: boolean;
  /** Writes text as is (no prompt handling). */
  write(text: string): void;
  /** The next line typed, or undefined once input ends. */
  nextLine(): Promise<string | undefined>;
}

/** Asks a yes/no question on the next line; only `y` or `yes` is a yes. */
async function confirmLine(io: ConsoleLines, question: string): Promise<boolean> {
  const ask = `${question} [y/N] `;
  if (io.terminal) {
    io.rl.setPrompt(ask);
    io.rl.prompt();
  } else {
    io.write(ask + "\n");
  }
  const answer = await io.nextLine();
  io.rl.setPrompt(PROMPT);
  return /^(y|yes)$/i.test(answer?.trim() ?? "");
}

/**
 * Reads one line without showing it (on a terminal; plain stdin has no echo to hide) and keeps it
 * out of the line history. Node's readline has no public switch for echo: its output hook is
 * wrapped to let only the prompt and the line ends through.
 */
async function hiddenLine(io: ConsoleLines, label: string): Promise<string | undefined> {
  if (!io.terminal) {
    io.write(`${label}:\n`);
    return await io.nextLine();
  }
  const { rl } = io;
  const hooks = rl as unknown as { _writeToOutput?: (text: string) => void; history?: string[] };
  const original = hooks._writeToOutput;
  const ask = `${label}: `;
  rl.setPrompt(ask);
  if (original) {
    hooks._writeToOutput = (text: string) => {
      if (text.startsWith(ask)) original.call(rl, ask);
      else if (text.includes("\n")) original.call(rl, "\r\n");
    };
  } else io.write("(the password shows as you type it)\n");
  rl.prompt();
  try {
    return await io.nextLine();
  } finally {
    hooks._writeToOutput = original;
    rl.setPrompt(PROMPT);
    if (hooks.history?.length) hooks.history.shift(); // never in the arrow-key history
  }
}

/** A password asked twice on a terminal (once on plain stdin); undefined when they differ. */
async function secretLine(io: ConsoleLines, label: string): Promise<string | undefined> {
  const first = await hiddenLine(io, label);
  if (!io.terminal || first === undefined) return first;
  const again = await hiddenLine(io, `${label} (again)`);
  if (again === first) return first;
  io.write("The passwords do not match\n");
  return undefined;
}

/** Handles Ctrl-C as interruptAction says: clear the line, warn, or call `onInterrupt`. */
function handleInterrupts(
  io: ConsoleLines,
  onInterrupt: () => void,
  now: () => number,
  prompt: () => void,
): void {
  const { rl, write } = io;
  let emptyInterruptAt: number | undefined;
  rl.on("SIGINT", () => {
    const action = interruptAction(rl.line, emptyInterruptAt, now());
    emptyInterruptAt = action === "warn" ? now() : undefined;
    if (action === "stop") return onInterrupt();
    // As a shell does: the typed text is dropped, and a fresh prompt follows on a new row.
    write("^C\n");
    if (action === "warn") {
      write(
        `Press Ctrl-C again within ${INTERRUPT_WINDOW_MS / 1000} s to stop the server, or type ` +
          "shutdown\n",
      );
    }
    rl.write(null, { ctrl: true, name: "e" }); // to the end of the line,
    rl.write(null, { ctrl: true, name: "u" }); // then delete all of it
    prompt();
  });
}

/** Starts reading commands from stdin. */
export function startConsole(options: ConsoleOptions): OperatorConsole {
  const output = options.output ?? process.stdout;
  const now = options.now ?? Date.now;
  const write = options.output
    ? (text: string) => void options.output!.write(text)
    : (text: string) => Deno.stdout.writeSync(new TextEncoder().encode(text));
  const rl = createInterface({
    input: options.input ?? process.stdin,
    output: options.terminal ? output : undefined,
    terminal: options.terminal,
    prompt: PROMPT,
    historySize: 200,
  });
  const lines = rl[Symbol.asyncIterator]();
  let closed = false;
  let waitingForInput = false;

  const prompt = () => {
    if (options.terminal && !closed) rl.prompt();
  };

  function show(text: string): void {
    if (closed) return;
    if (options.terminal && waitingForInput) writeAbovePrompt(rl, output as PromptOutput, text);
    else write(text + "\n");
  }

  async function nextLine(): Promise<string | undefined> {
    waitingForInput = true;
    try {
      const next = await lines.next();
      return next.done ? undefined : String(next.value);
    } finally {
      waitingForInput = false;
    }
  }

  const io: ConsoleLines = { rl, terminal: options.terminal, write, nextLine };
  const confirm = (question: string) => confirmLine(io, question);
  const secret = (label: string) => secretLine(io, label);
  handleInterrupts(io, options.onInterrupt, now, prompt);

  const ended = (async () => {
    if (options.terminal) write('Operator console: type "help" for commands.\n');
    prompt();
    for (;;) {
      const line = await nextLine();
      if (line === undefined || closed) break;
      if (line.trim()) show(await options.run(line, confirm, secret));
      prompt();
    }
    if (!closed && options.terminal) {
      write(
        "\nConsole closed; the server keeps running (stop it with SIGTERM or `chatz admin shutdown`).\n",
      );
    }
    closed = true;
    rl.close();
  })();

  return {
    show,
    close() {
      if (closed) return;
      closed = true;
      rl.close();
      if (options.terminal) write("\n");
    },
    ended,
  };
}
