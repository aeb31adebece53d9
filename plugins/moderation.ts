// Built-in plugin: moderation from a chat client, for accounts with the operator role.
// `/kick`, `/ban`, `/unban` and `/wall` refuse everyone else (`forbidden`); every action is logged.

import type { Plugin } from "../protocol/plugin.ts";
import { plural } from "../protocol/plural.ts";

/** Units of a ban's duration: `30m`, `1h`, `7d`, `2w`. */
const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

const plugin: Plugin = {
  name: "moderation",
  description: "Kick, ban and broadcast, for operators",
  setup(ctx) {
    // /kick <login> [reason]
    ctx.command({
      name: "kick",
      summary: "Operators: end every session of a login, telling it why",
      params: [{ name: "login", kind: "login" }, { name: "reason", kind: "text", optional: true }],
      examples: ["/kick mallory flooding"],
      handler(call) {
        const login = String(call.args.login);
        const n = call.chat.operatorKick(login, String(call.args.reason ?? ""));
        return call.ok(`Kicked ${login} (${plural(n, "session")})`);
      },
    });
    // /ban <login|address> [reason]; a reason starting with a duration (30m, 1h, 7d, 2w) limits it
    ctx.command({
      name: "ban",
      summary:
        "Operators: ban a login or an address range, for a duration (1h, 7d) or until /unban",
      params: [{ name: "target", kind: "word" }, { name: "reason", kind: "text", optional: true }],
      examples: ["/ban mallory 1h flooding", "/ban 203.0.113.0/24 7d"],
      handler(call) {
        const words = String(call.args.reason ?? "").trim().split(/\s+/).filter(Boolean);
        const match = /^(\d{1,5})([mhdw])$/.exec(words[0] ?? "");
        const durationMs = match ? Number(match[1]) * UNITS[match[2]] : undefined;
        const reason = (match ? words.slice(1) : words).join(" ");
        const text = call.chat.operatorBan(String(call.args.target), {
          durationMs,
          reason,
        });
        return call.ok(text);
      },
    });
    // /unban <login|address>
    ctx.command({
      name: "unban",
      summary: "Operators: lift a ban",
      params: [{ name: "target", kind: "word" }],
      examples: ["/unban mallory"],
      handler(call) {
        call.chat.operatorUnban(String(call.args.target));
        return call.ok(`Lifted the ban on ${call.args.target}`);
      },
    });
    // /wall <text>
    ctx.command({
      name: "wall",
      aliases: ["broadcast"],
      summary: "Operators: a notice to everyone online",
      params: [{ name: "text", kind: "text" }],
      examples: ["/wall restarting at noon"],
      handler(call) {
        call.chat.operatorBroadcast(String(call.args.text));
        return call.ok("Notice sent");
      },
    });
  },
};

export default plugin;
