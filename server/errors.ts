// The server's error type: a protocol error code plus a sentence for people.
// Defined in protocol/errors.ts, so plugins throw the same class the server catches.

export { ChatError } from "../protocol/errors.ts";
