// Built-in plugin: message history of the public room, a direct conversation, or a group you are in.
// Replies carry the messages in `data.messages`, oldest first, and the cursor for the page before them.

import type { HistoryTarget, Plugin } from "../protocol/plugin.ts";

/** Messages per page when no count is given. */
const DEFAULT_COUNT = 50;
/** Most messages one request may return. */
const MAX_COUNT = 500;
/** Most text characters in one reply: a page of long messages is cut short, and `before` pages on. */
const MAX_PAGE_CHARS = 512 * 1024;

const plugin: Plugin = {
  name: "history",
  description: "Read earlier messages of a conversation",
  setup(ctx) {
    // /history [target] [count] [before]
    ctx.command({
      name: "history",
      summary:
        "Show earlier messages: target is public (default), a login, or #group; page back with before",
      params: [
        { name: "target", kind: "word", optional: true },
        { name: "count", kind: "int", optional: true, min: 1, max: MAX_COUNT },
        { name: "before", kind: "int", optional: true, min: 1 },
      ],
      examples: ["/history", "/history bob 20", "/history #ops 50 1200"],
      handler(call) {
        let target = call.args.target;
        let count = call.args.count;
        // `/history 20` means twenty public messages.
        if (target !== undefined && count === undefined && /^\d+$/.test(target)) {
          count = Number(target);
          target = undefined;
          if (count < 1 || count > MAX_COUNT) {
            return call.fail(
              "bad_arguments",
              `Cannot run "/history": <count> must be from 1 to ${MAX_COUNT}`,
            );
          }
        }
        const where = toTarget(target);
        const limit = count ?? DEFAULT_COUNT;
        const found = call.chat.history(where, { limit, before: call.args.before });
        const messages = newestWithin(found, MAX_PAGE_CHARS);
        // A full page may have older messages before it; a short one is the start of the conversation.
        const next = found.length === limit || messages.length < found.length
          ? messages[0]?.id
          : undefined;
        // Display spellings, as every reply uses (PROTOCOL.md §3.1); history() checked they exist.
        const label = where.scope === "public"
          ? "the public room"
          : where.scope === "group"
          ? `#${call.chat.group(where.group)?.name ?? where.group}`
          : call.chat.account(where.with) ?? where.with;
        const more = next !== undefined
          ? `; older: /history ${target ?? "public"} ${limit} ${next}`
          : "";
        const noun = messages.length === 1 ? "message" : "messages";
        return call.ok(`${messages.length} ${noun} of ${label}${more}`, { messages, before: next });
      },
    });
  },
};

/** The newest messages whose texts fit in `budget` characters, oldest first; at least one. */
function newestWithin<T extends { text: string }>(messages: T[], budget: number): T[] {
  let start = messages.length;
  let used = 0;
  while (
    start > 0 && (start === messages.length || used + messages[start - 1].text.length <= budget)
  ) {
    used += messages[--start].text.length;
  }
  return messages.slice(start);
}

function toTarget(target: string | undefined): HistoryTarget {
  if (target === undefined || target.toLowerCase() === "public") return { scope: "public" };
  if (target.startsWith("#")) return { scope: "group", group: target.slice(1) };
  return { scope: "direct", with: target.startsWith("@") ? target.slice(1) : target };
}

export default plugin;
