// The benchmark's baseline: a bare ROUTER that forwards [destination, payload] to the destination,
// with no parsing, checks or storage. Driven by transport/socket_loop.ts, as chatz drives its own.

import { Router } from "zeromq";
import { startSocketLoop } from "../transport/socket_loop.ts";

/** Messages libzmq queues per peer, as chatz's ROUTER (server/serving/serve.ts), so both buffer alike. */
const SEND_HWM = 10_000;

const bind = Deno.args[0] ?? "tcp://127.0.0.1:*";
const router = new Router({
  receiveTimeout: 0,
  sendTimeout: 0,
  mandatory: true, // a send to a missing or full peer fails and is counted instead of vanishing
  // Clients set their own routing ids; one that re-dials must get its id back, not be refused as a
  // duplicate of its old, still closing connection.
  handover: true,
  sendHighWaterMark: SEND_HWM,
  linger: 0,
});
await router.bind(bind);

let forwarded = 0;
let dropped = 0;
const loop = startSocketLoop(router, {
  onMessage(frames) {
    // [sender routing id, destination routing id, payload]
    if (frames.length !== 3) {
      dropped++;
      return;
    }
    forwarded++;
    loop.send([frames[1], frames[2]]);
  },
  onSendError() {
    dropped++;
  },
}, { checkWritable: false });

const stop = Promise.withResolvers<void>();
Deno.addSignalListener("SIGTERM", () => stop.resolve());
Deno.addSignalListener("SIGINT", () => stop.resolve());
console.log(`baseline listening on ${router.lastEndpoint ?? bind}`);

await stop.promise;
await loop.close();
console.error(`baseline stopped: forwarded=${forwarded} dropped=${dropped}`);
Deno.exit(0);
