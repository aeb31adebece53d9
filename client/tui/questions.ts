// The questions the input line asks instead of taking a chat line: a multi-line paste to confirm,
// a secret to type. Pure; the full-screen client and line mode ask them the same way.

import { isOneWord } from "../../protocol/words.ts";
import { oneLine } from "../format.ts";
import { appendSecrets, secretsDiffer, type SendAction } from "../input.ts";
import type { KeyEvent } from "./keys.ts";

/** Secrets a command line left out, asked one after the other. */
export interface SecretQuestion {
  action: SendAction;
  names: string[];
  values: string[];
}

/** A yes (`y`) or no (`n`, Esc, Ctrl-C) to a yes/no question; undefined for any other key. */
export function yesNo(event: KeyEvent): "yes" | "no" | undefined {
  if (event.kind === "text") {
    if (/^y/i.test(event.text)) return "yes";
    if (/^n/i.test(event.text)) return "no";
    return undefined;
  }
  return isCancel(event) ? "no" : undefined;
}

/** Esc or Ctrl-C: gives up a question. */
export function isCancel(event: KeyEvent): boolean {
  return (event.kind === "key" && event.name === "escape") ||
    (event.kind === "ctrl" && event.letter === "c");
}

/**
 * A multi-line paste after what was typed: the line to keep editing when only trailing line breaks
 * made it several lines, else the message to confirm.
 */
export function pasteOutcome(
  typed: string,
  pasted: string,
): { line: string } | { message: string } {
  const whole = (typed + pasted).replace(/\n+$/, "");
  return whole.includes("\n") ? { message: whole } : { line: whole };
}

/** The question a multi-line paste asks. */
export function pastePrompt(message: string, where?: string): string {
  const lines = message.split("\n").length;
  return `Send ${lines} pasted lines as one message${where ? ` to ${where}` : ""}? (y/n) `;
}

/** The prompt for the next secret. */
export function secretPrompt(question: SecretQuestion): string {
  // Parameter names come from the server's catalog: sanitized like any text from it.
  return `${oneLine(question.names[question.values.length])}: `;
}

/** Takes one typed secret: an error, the next secret to ask, or the command to send. */
export function secretAnswered(
  question: SecretQuestion,
  value: string,
): { error: string } | { next: true } | { done: SendAction } {
  if (!isOneWord(value)) {
    const name = question.names[question.values.length];
    return { error: `Cannot use secret "${name}": it must be one word` };
  }
  question.values.push(value);
  // A new password typed twice: the second must match the first.
  const differ = secretsDiffer(question.action, question.values);
  if (differ) return { error: differ };
  if (question.values.length < question.names.length) return { next: true };
  return { done: appendSecrets(question.action, question.values) };
}
