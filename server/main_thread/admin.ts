// `chatz admin`: runs an operator command against a running server through its data folder's control socket.
// For servers without a terminal; the commands are the console's own.

import { existsSync } from "node:fs";
import { CONTROL_VERSION, type ControlReply, controlSocketPath } from "../../protocol/control.ts";
import { requestOnce } from "../../transport/request_reply.ts";

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
  request: { line: string; yes?: boolean },
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

/** Runs `chatz admin`; resolves with the exit code. */
export async function runAdmin(options: AdminOptions): Promise<number> {
  const reply = await sendControl(
    options.data,
    { line: options.line, yes: options.yes },
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
