// Drives a real terminal for tests of the full-screen client: a tmux server of the test's own
// (its own socket), a pane running a command, keys and pastes in, the screen's text out.

import { WAIT_MS } from "./harness.ts";

/** A pane in a private tmux server. */
export interface TmuxPane {
  /** The screen as text, one string per row, trailing spaces cut. */
  screen(): Promise<string[]>;
  /** Waits until `predicate` holds for the screen; throws with the last screen at the deadline. */
  waitFor(predicate: (screen: string[]) => boolean, what: string, ms?: number): Promise<string[]>;
  /** Types text literally. */
  type(text: string): Promise<void>;
  /** Sends tmux key names: `Enter`, `Tab`, `M-2`, `PPage`, `C-n`, `M-Left`. */
  keys(...names: string[]): Promise<void>;
  /** Pastes text the way a terminal does, bracketed when the program asked for it. */
  paste(text: string): Promise<void>;
  resize(columns: number, rows: number): Promise<void>;
  /** Kills the pane's tmux server. */
  close(): Promise<void>;
}

/** Whether tmux is installed (`.ci/run` installs it when missing). */
export function hasTmux(): boolean {
  try {
    new Deno.Command("tmux", { args: ["-V"], stdout: "null", stderr: "null" }).outputSync();
    return true;
  } catch {
    return false;
  }
}

/** Starts `command` in a new tmux server of its own, on a terminal of the given size. */
export async function startPane(
  command: string[],
  options: { columns: number; rows: number; env?: Record<string, string>; cwd?: string },
): Promise<TmuxPane> {
  const socket = `chatz-test-${crypto.randomUUID().slice(0, 8)}`;
  const tmux = async (...args: string[]): Promise<string> => {
    const out = await new Deno.Command("tmux", { args: ["-L", socket, ...args], stderr: "piped" })
      .output();
    if (!out.success) {
      throw new Error(`tmux ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
    }
    return new TextDecoder().decode(out.stdout);
  };
  const env = Object.entries({ TERM: "xterm-256color", ...options.env })
    .map(([k, v]) => `${k}=${shellQuote(v)}`);
  const line = [
    "env",
    ...env,
    ...command.map(shellQuote),
    // Keeps the pane (and its last screen) after the program exits, with its exit code: printf's
    // arguments are read before it runs, so $? is the program's (after an `echo` it was echo's 0).
    `; printf '\\nEXITED %s\\n' $?; sleep 600`,
  ].join(" ");
  await tmux(
    "-f",
    "/dev/null",
    "new-session",
    "-d",
    "-x",
    String(options.columns),
    "-y",
    String(options.rows),
    "-c",
    options.cwd ?? Deno.cwd(),
    line,
  );
  // A manual window size, so resize-window sticks without an attached client.
  await tmux("set-option", "-g", "window-size", "manual");

  const screen = async () =>
    (await tmux("capture-pane", "-p", "-t", "0")).replace(/\n$/, "").split("\n").map((row) =>
      row.trimEnd()
    );
  return {
    screen,
    async waitFor(predicate, what, ms = WAIT_MS * 3) {
      const deadline = Date.now() + ms;
      let last: string[] = [];
      for (let polls = 0; polls < 10_000; polls++) {
        last = await screen();
        if (predicate(last)) return last;
        if (Date.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`Cannot see ${what} on the screen:\n${last.join("\n")}`);
    },
    async type(text) {
      await tmux("send-keys", "-t", "0", "-l", text);
    },
    async keys(...names) {
      await tmux("send-keys", "-t", "0", ...names);
    },
    async paste(text) {
      await tmux("set-buffer", "-b", "paste", text);
      await tmux("paste-buffer", "-p", "-d", "-b", "paste", "-t", "0");
    },
    async resize(columns, rows) {
      await tmux("resize-window", "-t", "0", "-x", String(columns), "-y", String(rows));
    },
    async close() {
      await tmux("kill-server").catch(() => {});
    },
  };
}

function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}
