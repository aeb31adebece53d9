// The real link against a real server: a re-dial replaces the connection, and what is sent right
// after it goes out on the new one (the old connection's pipe is never written to again).

import { Recorder, startServerProcess } from "../tests/harness.ts";
import { PROTOCOL_VERSION } from "../protocol/mod.ts";
import { dealerLink } from "./link.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "a message sent right after a re-dial is answered on the new connection",
  opts,
  async () => {
    const server = await startServerProcess({ plaintext: true });
    const replies = new Recorder<number>();
    const link = dealerLink([server.endpoint])((frames) => {
      const batch = JSON.parse(new TextDecoder().decode(frames[frames.length - 1]));
      for (const body of Array.isArray(batch) ? batch : [batch]) {
        if (typeof body.re === "number") replies.push(body.re);
      }
    });
    try {
      link.connect();
      link.send([PROTOCOL_VERSION, JSON.stringify([{ op: "ping", id: 1 }])]);
      await replies.waitFor((re) => re === 1, "the ping on the first connection");
      // The first connection is up and writable: each ping below must leave on its replacement.
      for (let id = 2; id <= 6; id++) {
        link.redial();
        link.send([PROTOCOL_VERSION, JSON.stringify([{ op: "ping", id }])]);
        await replies.waitFor((re) => re === id, `ping ${id}, sent right after re-dial ${id - 1}`);
      }
    } finally {
      await link.close();
      await server.stop();
    }
  },
);
