// The shape of an operator command and what it runs with, shared by the command tables
// (operator.ts, operator_accounts.ts) so that neither imports the other's types back.

import type { Logger } from "../log.ts";
import type { Encryption } from "./encryption.ts";
import type { LogFile } from "./log_file.ts";
import type { ServingThread } from "./serving_thread.ts";

/** What operator commands work with. */
export interface OperatorContext {
  server: Pick<ServingThread, "call">;
  logs: LogFile;
  log: Logger;
  version: string;
  /** How the chat endpoint is encrypted, for `status`. */
  encryption: Encryption;
  /** Starts a graceful shutdown after the current reply is out. */
  shutdown(reason: string): void;
}

/** A command's answer: text for people, data for `chatz admin --json`. */
export interface OperatorResult {
  text: string;
  data?: unknown;
}

/** One operator command. */
export interface OperatorCommand {
  name: string;
  aliases?: string[];
  /** Grammar line, for example `kick <login> [reason...]`. */
  usage: string;
  summary: string;
  /** The question asked before running; `chatz admin` needs `--yes` instead. */
  confirm?: string;
  /**
   * The command needs a password: this labels the hidden prompt. `--password-file FILE` in the
   * arguments reads it from a file instead; `chatz admin` also reads it from its stdin.
   */
  secret?: string;
  run(ctx: OperatorContext, args: string, secret?: string): Promise<OperatorResult>;
}
