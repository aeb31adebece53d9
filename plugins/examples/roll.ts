// Example drop-in plugin: `/roll 2d6` rolls dice and tells the public room the result.
// Start the server with `--plugins plugins/examples` to load it; clients need no change.

import type { Plugin } from "chatz/plugin";

/** Most dice and faces accepted, so one roll stays one short line. */
const MAX_DICE = 20;
const MAX_FACES = 1000;

const plugin: Plugin = {
  name: "roll",
  description: "Roll dice in the public room, as in tabletop games",
  setup(ctx) {
    // /roll [dice]
    ctx.command({
      name: "roll",
      aliases: ["dice"],
      summary: "Roll dice written as NdF (default 1d6) and show the result to everyone",
      params: [{ name: "dice", kind: "word", optional: true }],
      examples: ["/roll", "/roll 2d6", "/roll d20"],
      handler(call) {
        const spec = (call.args.dice ?? "1d6").toLowerCase();
        const match = /^(\d*)d(\d+)$/.exec(spec);
        const count = match ? Number(match[1] || "1") : 0;
        const faces = match ? Number(match[2]) : 0;
        if (count < 1 || count > MAX_DICE || faces < 2 || faces > MAX_FACES) {
          return call.fail(
            "bad_arguments",
            `Cannot roll "${
              spec.slice(0, 20)
            }": write NdF with N from 1 to ${MAX_DICE} and F from 2 to ${MAX_FACES}`,
          );
        }
        const rolls = Array.from({ length: count }, () => 1 + Math.floor(Math.random() * faces));
        const total = rolls.reduce((a, b) => a + b, 0);
        const text = `rolls ${count}d${faces}: ${rolls.join(" + ")}${
          count > 1 ? ` = ${total}` : ""
        }`;
        const sent = call.chat.sendPublic(text, { action: true });
        return call.ok(`You ${text.replace("rolls", "rolled")}`, { ...sent, rolls, total });
      },
    });
  },
};

export default plugin;
