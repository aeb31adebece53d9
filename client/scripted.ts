// The non-interactive client: runs one input line after another and prints one line per event or reply.
// Lines, output and the connection come in as parameters, so a test can drive it with a fake server.

import type { Connection } from "./connection.ts";
import { type Clock, SYSTEM_CLOCK, type Timer } from "./link.ts";
import type { Reply, ServerEvent } from "../protocol/mod.ts";
import {
  formatError,
  formatEvent,
  formatReply,
  isSendAck,
  type LocalJson,
  toJsonLine,
} from "./format.ts";
import { parseInput, type SendAction } from "./input.ts";

/** What the scripted client uses of a connection. */
export type ScriptConnection = Pick<Connection, "session" | "command" | "close">;

/** Options of `runScripted`. */
export interface ScriptedOptions {
  /** Input lines without their line endings, until the input ends. */
  lines: AsyncIterable<string>;
  /** Writes one output line (the newline is added by the writer). */
  write(line: string): void;
  /** Registers the handler of server events; events that came before it must be passed on at once. */
  subscribe(handler: (event: ServerEvent) => void): void;
  /** One JSON object per line instead of human lines. */
  json: boolean;
  /** After the input ends and every reply is in, keep printing events this many milliseconds. */
  waitMs: number;
  /** Give up when no outstanding reply arrives for this long after the input ended. */
  timeoutMs: number;
  color?: boolean;
  /** The clock the waits run on; default: the system's (tests pass a fake). */
  clock?: Clock;
}

/**
 * Runs input lines as commands until the input ends or the server ends the session, then waits for
 * the outstanding replies, logs out and closes. Resolves with the exit code: 0 when every command
 * succeeded, 1 when any got an error (a reply such as `no_such_user`, or a line the client itself
 * refused), when the server sent `bye`, or when replies stopped coming. A script can tell that its
 * `/msg` failed without parsing the output.
 */
export async function runScripted(
  connection: ScriptConnection,
  options: ScriptedOptions,
): Promise<number> {
  // The catalog is read at each line: every (re)login brings the server's current one.
  const self = connection.session.login;
  const out = createOrderedOutput(options.write);
  let sawBye = false;
  let onBye = () => {};
  const bye = new Promise<void>((resolve) => onBye = resolve);

  options.subscribe((event) => {
    // A reply's printing runs one microtask after the reply is matched; deferring events by one
    // microtask too keeps replies and events in the order they came on the wire.
    queueMicrotask(() => {
      options.write(
        options.json ? toJsonLine(event) : formatEvent(event, { self, color: options.color }),
      );
      if (event.type === "bye" && !sawBye) {
        sawBye = true;
        onBye();
      }
    });
  });

  /** Some command got an error: the exit code says so. */
  let failed = false;
  const local = (item: LocalJson) => {
    if (item.type === "error") failed = true;
    if (options.json) out.now(toJsonLine(item));
    else if (item.type === "help") out.now(item.text);
    else out.now(formatError(item.code, item.message, options));
  };
  const pending = new Set<Promise<void>>();
  const send = (action: SendAction) => {
    const slot = out.slot();
    // The server echoes sent messages as events (`echo` at login): a send's reply adds nothing.
    const render = (reply: Reply) =>
      options.json ? toJsonLine(reply) : formatReply(reply, { self, color: options.color }) ??
        (reply.ok && isSendAck(reply) ? undefined : "ok");
    // `.then` directly on the request's promise: see the comment on event printing above.
    const done = connection.command(action.cmd, action.args).then((reply) => {
      if (!reply.ok) failed = true;
      slot(render(reply));
    });
    pending.add(done);
    done.then(() => pending.delete(done));
  };

  const lines = options.lines[Symbol.asyncIterator]();
  try {
    while (!sawBye) {
      const next = await Promise.race([lines.next(), bye.then(() => undefined)]);
      if (next === undefined || next.done) break;
      const action = parseInput(next.value, connection.session.catalog);
      if (action.kind === "quit") break;
      if (action.kind === "help") local({ type: "help", text: action.text });
      else if (action.kind === "error") {
        local({ type: "error", code: action.code, message: action.message });
      } else if (action.kind === "send" && action.missingSecrets) {
        const names = action.missingSecrets.map((name) => `"${name}"`).join(", ");
        local({
          type: "error",
          code: "bad_arguments",
          message:
            `Cannot run "/${action.cmd}": secret ${names} missing, and only a terminal can ` +
            "ask for it",
        });
      } else if (action.kind === "send") send(action);
    }
  } finally {
    // Stops the reader (readline closes its stream), whether the input ended or was abandoned.
    void lines.return?.();
  }

  if (!sawBye) {
    const settled = await settle(pending, options.timeoutMs, bye);
    if (settled === "timeout") {
      const message = `Cannot finish: no reply within ${options.timeoutMs} ms`;
      local({ type: "error", code: "unreachable", message });
      await connection.close({ logout: false });
      return 1;
    }
  }
  if (!sawBye && options.waitMs > 0) {
    await delayUnless(options.clock ?? SYSTEM_CLOCK, options.waitMs, bye);
  }
  await connection.close({ logout: !sawBye });
  return sawBye || failed ? 1 : 0;
}

/**
 * Output in input order: a reply's line waits in its slot until every earlier line is out, so a
 * local line (help, an error) never jumps ahead of the reply to an earlier command.
 */
function createOrderedOutput(write: (line: string) => void) {
  const queue: { text?: string; ready: boolean }[] = [];
  const flush = () => {
    while (queue.length > 0 && queue[0].ready) {
      const { text } = queue.shift()!;
      if (text !== undefined) write(text);
    }
  };
  return {
    /** Reserves the place of a line that comes later; call the result with it. */
    slot(): (text: string | undefined) => void {
      const entry: { text?: string; ready: boolean } = { ready: false };
      queue.push(entry);
      return (text) => {
        entry.text = text;
        entry.ready = true;
        flush();
      };
    },
    /** A line that is ready now: out at once unless earlier slots are still open. */
    now(text: string): void {
      queue.push({ text, ready: true });
      flush();
    },
  };
}

/** Waits until every pending reply is in, giving up when none arrives for `timeoutMs`. */
async function settle(
  pending: Set<Promise<void>>,
  timeoutMs: number,
  bye: Promise<void>,
): Promise<"done" | "timeout" | "bye"> {
  while (pending.size > 0) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    const result = await Promise.race([
      Promise.race(pending).then(() => "progress" as const),
      timeout,
      bye.then(() => "bye" as const),
    ]);
    clearTimeout(timer);
    if (result !== "progress") return result;
    // Let the finished promise's own cleanup run before looking at the set again.
    await Promise.resolve();
  }
  return "done";
}

/** Waits `ms` milliseconds, or less when `cut` settles first; leaves no timer behind. */
async function delayUnless(clock: Clock, ms: number, cut: Promise<void>): Promise<void> {
  let timer: Timer | undefined;
  const elapsed = new Promise<void>((resolve) => timer = clock.setTimeout(resolve, ms));
  try {
    await Promise.race([elapsed, cut]);
  } finally {
    clock.clearTimeout(timer);
  }
}
