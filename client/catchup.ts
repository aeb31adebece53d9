// A resumed login's catch-up, as the client passes it on: held until all of it is in, this client's
// own sends left out of the count (and passed on as echoes when it asked for them).

import type { LoginData, MessageEvent, ServerEvent } from "../protocol/mod.ts";

/** Where the catch-up goes once complete. */
export interface CatchupOutput {
  /** Whether the session asked for echoes of its own messages. */
  echo: boolean;
  /** Tells whether a message is one this client sent (by its cid). */
  isOwn(event: MessageEvent): boolean;
  onEvent?(event: ServerEvent): void;
  /** The session is online; `catchup` counts what was missed, own sends left out. */
  online(catchup: LoginData["catchup"]): void;
}

/** The catch-up in progress, if any. */
export interface Catchup {
  /** A login reply's catch-up begins (it follows the reply). */
  start(data: LoginData): void;
  /** True while a catch-up is coming in. */
  readonly active: boolean;
  /** One catch-up message. */
  hold(event: MessageEvent): void;
  /** Something else came (or the connection changed): what was held is passed on now. */
  end(): void;
}

/** Creates the catch-up holder. */
export function createCatchup(output: CatchupOutput): Catchup {
  let current:
    | (LoginData["catchup"] & { left: number; own: number; held: MessageEvent[] })
    | undefined;

  function end(): void {
    const done = current;
    if (!done) return;
    current = undefined;
    output.online({ count: done.count - done.own, complete: done.complete });
    for (const event of done.held) output.onEvent?.(event);
  }

  return {
    start(data) {
      current = { ...data.catchup, left: data.catchup.count, own: 0, held: [] };
      if (current.left === 0) end();
    },
    get active() {
      return current !== undefined;
    },
    hold(event) {
      const held = current!;
      if (output.isOwn(event)) {
        held.own++;
        if (output.echo) held.held.push(asEcho(event));
      } else held.held.push(event);
      if (--held.left === 0) end();
    },
    end,
  };
}

/**
 * A catch-up message this client sent itself, as its echo: without echoes it was shown from its
 * reply when sent, so it is dropped; with echoes its echo was lost with the old connection, so it
 * is passed on, unmarked.
 */
export function asEcho({ catchup: _catchup, cid: _cid, ...event }: MessageEvent): MessageEvent {
  return event;
}
