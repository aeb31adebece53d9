// The server's error type: a protocol error code plus a sentence for people.
// Services throw it; the broker turns it into the caller's error reply.

import type { ErrorCode } from "../protocol/mod.ts";

/** An expected failure that the caller is told about, with a documented code. */
export class ChatError extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
    this.name = "ChatError";
  }
}
