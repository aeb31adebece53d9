// The operator console: a prompt on the server's terminal (or stdin with --console) running operator commands.
// Live warnings and errors print above the prompt; confirmations read the next line.

import { createInterface } from "node:readline";
import { writeAbovePrompt } from "../../terminal/above_prompt.ts";

/** Options of the console. */
export interface ConsoleOptions {
  /** True on a terminal: prompt, line editing, history. False: plain lines in and out. */
  terminal: boolean;
  /** Runs one command line; returns what to print. */
  run(line: string, confirm: (question: string) => Promise<boolean>): Promise<string>;
  /** Ctrl-C on the console's terminal. */
  onInterrupt(): void;
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

/** Starts reading commands from stdin. */
export function startConsole(options: ConsoleOptions): OperatorConsole {
  const output = Deno.stdout;
  const write = (text: string) => output.writeSync(new TextEncoder().encode(text));
  const rl = createInterface({
    input: process.stdin,
    output: options.terminal ? process.stdout : undefined,
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
    if (options.terminal && waitingForInput) writeAbovePrompt(rl, process.stdout, text);
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

  async function confirm(question: string): Promise<boolean> {
    const ask = `${question} [y/N] `;
    if (options.terminal) {
      rl.setPrompt(ask);
      rl.prompt();
    } else {
      write(ask + "\n");
    }
    const answer = await nextLine();
    rl.setPrompt(PROMPT);
    return /^(y|yes)$/i.test(answer?.trim() ?? "");
  }

  rl.on("SIGINT", () => options.onInterrupt());

  const ended = (async () => {
    if (options.terminal) write('Operator console: type "help" for commands.\n');
    prompt();
    for (;;) {
      const line = await nextLine();
      if (line === undefined || closed) break;
      if (line.trim()) show(await options.run(line, confirm));
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
