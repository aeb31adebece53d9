// History reads: a page of one conversation, for those allowed to read it.
// Public history is open to all; direct history to its two parties; group history to members.

import { nameKey } from "../../../protocol/mod.ts";
import type { Caller, HistoryQuery, HistoryTarget } from "../../../protocol/plugin.ts";
import { ChatError } from "../../errors.ts";
import { conversationOf, type StoredMessage } from "../store/store.ts";
import type { ChatDeps } from "./deps.ts";
import { requireGroup, requireMember } from "./group_services.ts";

/** A page of the conversation `target` names, as `caller` may read it, oldest first. */
export function readHistory(
  deps: Pick<ChatDeps, "store" | "groups">,
  accountLogin: (login: string) => string | undefined,
  request: { caller: Caller; target: HistoryTarget; query: HistoryQuery },
): StoredMessage[] {
  const { store, groups } = deps;
  const { caller, target, query } = request;
  const before = query.before ?? Number.MAX_SAFE_INTEGER;
  switch (target.scope) {
    case "public":
      return store.history("p", before, query.limit);
    case "direct": {
      if (!accountLogin(target.with)) {
        throw new ChatError(
          "no_such_user",
          `Cannot read history with "${target.with}": no such user`,
        );
      }
      const conv = conversationOf({
        scope: "direct",
        a: nameKey(caller.login),
        b: nameKey(target.with),
      });
      return store.history(conv, before, query.limit);
    }
    case "group": {
      const group = requireGroup(groups, target.group, "read history of");
      requireMember(group, caller, "read history of");
      return store.history(
        conversationOf({ scope: "group", groupKey: group.key, created: group.created }),
        before,
        query.limit,
      );
    }
  }
}
