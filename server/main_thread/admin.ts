// `chatz admin`: runs an operator command against a running server through its data folder's control socket.
// For servers without a terminal; the commands are the console's own.

import { existsSync } from "node:fs";
import { CONTROL_VERSION, type ControlReply, controlSocketPath } from "../../protocol/control.ts";
import { requestOnce } from "../../transport/request_reply.ts";
import { readLines } from "../../transport/lines.ts";
import { ABORT_EXIT_CODE, PromptAbortedError, promptSecret } from "../../client/password.ts";
import { ChatError } from "../errors.ts";
import { passwordFileArg, readFirstLine, splitOperatorLine } from "./operator.ts";

/** Exit code when no server answers on the data folder, as `systemctl status` uses for a stopped unit. */
export const EXIT_NOT_RUNNING = 3;

/** Options of `chatz admin`. */
export interface AdminOptions {
  data: string;
  /** The command line, for example `kick bob spamming`. */
  line: string;
  yes: boolean;
  json: boolean;
  timeoutMs: number;
}

/** Sends one command and waits for its reply; undefined when nobody answered in time. */
export async function sendControl(
  dataDir: string,
  request: { line: string; yes?: boolean; secret?: string },
  timeoutMs: number,
): Promise<ControlReply | undefined> {
  const path = controlSocketPath(dataDir);
  if (!existsSync(path)) return undefined;
  const decoder = new TextDecoder();
  return await requestOnce<ControlReply>({
    endpoint: `ipc://${path}`,
    frames: [CONTROL_VERSION, JSON.stringify({ id: 1, ...request })],
    timeoutMs,
    accept(frames) {
      try {
        return JSON.parse(decoder.decode(frames[frames.length - 1]));
      } catch {
        return undefined; // not ours
      }
    },
  });
}

/**
 * The password a command needs, read here rather than by the server (which may not be allowed to
 * read the operator's files): `--password-file FILE`, else stdin's first line when it is not a
 * terminal, else a hidden prompt asked twice. Returns the line without `--password-file`.
 */
async function readSecret(line: string): Promise<{ line: string; secret?: string }> {
  const { command, args } = splitOperatorLine(line);
  if (!command?.secret) return { line };
  const { rest, file } = passwordFileArg(args);
  const stripped = `${command.name} ${rest}`;
  if (file !== undefined) return { line: stripped, secret: readFirstLine(file) };
  if (!Deno.stdin.isTerminal()) {
    for await (const first of readLines(Deno.stdin.readable)) return { line, secret: first };
    return { line };
  }
  for (;;) {
    const first = await promptSecret(`${command.secret}: `);
    if (first === null) {
      throw new PromptAbortedError("Cannot read the password: prompt interrupted");
    }
    const again = await promptSecret(`${command.secret} (again): `);
    if (again === null) {
      throw new PromptAbortedError("Cannot read the password: prompt interrupted");
    }
    if (first === again) return { line, secret: first };
    console.error("The passwords do not match; type them again");
  }
}

/** Runs `chatz admin`; resolves with the exit code. */
export async function runAdmin(options: AdminOptions): Promise<number> {
  let request: { line: string; secret?: string };
  try {
    request = await readSecret(options.line);
  } catch (error) {
    if (error instanceof PromptAbortedError) return ABORT_EXIT_CODE;
    const code = error instanceof ChatError ? error.code : "bad_password";
    if (options.json) {
      console.log(JSON.stringify({ ok: false, code, message: (error as Error).message }));
    } else console.error(`chatz: ${(error as Error).message} [${code}]`);
    return 1;
  }
  const reply = await sendControl(
    options.data,
    { ...request, yes: options.yes },
    options.timeoutMs,
  );
  if (!reply) {
    const message =
      `No chatz server is running with data folder "${options.data}" (nothing answers at ${
        controlSocketPath(options.data)
      })`;
    if (options.json) console.log(JSON.stringify({ ok: false, code: "not_running", message }));
    else console.error(`chatz: ${message}`);
    return EXIT_NOT_RUNNING;
  }
  if (options.json) {
    console.log(JSON.stringify(reply));
  } else if (reply.ok) {
    console.log(reply.text);
  } else {
    const hint = reply.code === "not_confirmed" ? " (add --yes to confirm)" : "";
    console.error(`chatz: ${reply.message}${hint} [${reply.code}]`);
  }
  return reply.ok ? 0 : 1;
}
