// Prints a line above a readline prompt without garbling what the user is typing.
// Shared by the chat client and the operator console, which both show events as they arrive.

import { clearScreenDown, cursorTo, type Interface, moveCursor } from "node:readline";

/** Where lines are written: a TTY stream. */
export interface PromptOutput {
  write(text: string): boolean;
}

/**
 * Erases the prompt (all its wrapped rows), writes `text` and redraws the prompt with the input
 * typed so far, cursor where it was.
 */
export function writeAbovePrompt(rl: Interface, output: PromptOutput, text: string): void {
  const stream = output as unknown as NodeJS.WritableStream;
  moveCursor(stream, 0, -rl.getCursorPos().rows);
  cursorTo(stream, 0);
  clearScreenDown(stream);
  output.write(`${text}\n`);
  rl.prompt(true);
}
