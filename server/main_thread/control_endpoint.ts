// The control endpoint: an ipc socket in the data folder through which `chatz admin` runs operator commands.
// Only the operator can reach it: its folder is mode 0700 and the socket mode 0600.

import { chmodSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import {
  CONTROL_VERSION,
  type ControlReply,
  type ControlRequest,
  controlSocketPath,
} from "../../protocol/control.ts";
import { serveRequests } from "../../transport/request_reply.ts";
import { ChatError } from "../errors.ts";

/** Runs one control request; throws a ChatError for a coded failure. */
export type ControlHandler = (request: ControlRequest) => Promise<{ text: string; data?: unknown }>;

/** The bound control endpoint. */
export interface ControlEndpoint {
  readonly path: string;
  close(): Promise<void>;
}

/** Binds the control socket of a data folder. */
export async function openControlEndpoint(
  dataDir: string,
  handle: ControlHandler,
): Promise<ControlEndpoint> {
  const path = controlSocketPath(dataDir);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  chmodSync(dirname(path), 0o700);
  rmSync(path, { force: true }); // a socket file left by a killed server
  const decoder = new TextDecoder();
  const failed = (re: number, error: unknown): ControlReply =>
    error instanceof ChatError
      ? { re, ok: false, code: error.code, message: error.message }
      : { re, ok: false, code: "internal_error", message: (error as Error).message };
  const responder = await serveRequests(`ipc://${path}`, ([version, body]) => {
    const answer = (reply: ControlReply) => [CONTROL_VERSION, JSON.stringify(reply)];
    let request: ControlRequest;
    try {
      if (decoder.decode(version) !== CONTROL_VERSION) throw new Error("version");
      request = JSON.parse(decoder.decode(body));
      if (typeof request?.id !== "number" || typeof request.line !== "string") {
        throw new Error("shape");
      }
    } catch {
      return answer({
        re: 0,
        ok: false,
        code: "bad_request",
        message: "Cannot read control request",
      });
    }
    return handle(request).then(
      ({ text, data }) => answer({ re: request.id, ok: true, text, data }),
      (error) => answer(failed(request.id, error)),
    );
  }, { linger: 1000 });
  chmodSync(path, 0o600);

  return {
    path,
    async close() {
      await responder.close();
      if (existsSync(path)) rmSync(path, { force: true });
    },
  };
}
