// Tests of the status lines chatz connect prints when the connection is lost and comes back.

import assert from "node:assert/strict";
import { statusNotice } from "./run_connect.ts";

function text(event: ReturnType<typeof statusNotice>): string {
  return event.type === "notice" ? event.text : "";
}

Deno.test("statusNotice() counts missed messages in the singular and says how long it waits", () => {
  assert.equal(
    text(statusNotice({ state: "online", catchup: { count: 1, complete: true } })),
    "Reconnected; 1 missed message follows",
  );
  assert.equal(
    text(statusNotice({ state: "online", catchup: { count: 3, complete: false } })),
    "Reconnected; 3 missed messages follow (more in /history)",
  );
  assert.equal(
    text(
      statusNotice({
        state: "reconnecting",
        reason: "Server shutting down: x",
        attempt: 1,
        delayMs: 640,
      }),
    ),
    "Connection lost (Server shutting down: x); reconnecting in 0.6 s, attempt 1",
  );
  assert.equal(
    text(
      statusNotice({ state: "reconnecting", reason: "no answer yet", attempt: 3, delayMs: 2000 }),
    ),
    "Still reconnecting (no answer yet); attempt 3 in 2.0 s",
  );
  assert.equal(
    text(
      statusNotice({ state: "reconnecting", reason: "no answer yet", attempt: 2, delayMs: 0 }),
    ),
    "Still reconnecting (no answer yet); attempt 2",
  );
});
