// Sends: public, direct and group messages through the deliver hooks into the store and out,
// each stored once however often its client re-sends it (duplicate suppression by client id).

import { MAX_TEXT_LENGTH, nameKey } from "../../../protocol/mod.ts";
import type { OutgoingMessage, Sent } from "../../../protocol/plugin.ts";
import type { Actor, CoreServices } from "../bound_services.ts";
import { toEvent } from "../message_event.ts";
import { ChatError } from "../../errors.ts";
import {
  type AddedMessage,
  conversationOf,
  type NewMessage,
  type Store,
  type StoredMessage,
} from "../store/store.ts";
import { type ClientIdSplit, newClientIdSplit, splitClientId } from "../client_ids.ts";
import {
  DEDUP_WINDOW,
  type DuplicateIds,
  parseStoredClientId,
  storedClientId,
} from "../shared_state.ts";
import type { ChatStats, PartDeps } from "./deps.ts";
import type { FanOut } from "./fan_out.ts";
import { requireGroup, requireMember } from "./group_services.ts";

/** The three sends, and what a failed commit must undo. */
export type Sends = Pick<CoreServices, "sendPublic" | "sendDirect" | "sendGroup"> & {
  /** The turn's commit failed: forget what it remembered for duplicate suppression. */
  commitFailed(): void;
};

/** A send as `once` runs it: with the stored client id and its split for the page (`NewMessage`). */
type SendOnce = (cid: string | undefined, cidStem: string | undefined, cidCounter: number) => Sent;

/**
 * Sends once: `send` gets the stored form of the client id (the command's cid and the send's
 * number within the command, as a command may send several messages), split as a page keeps it,
 * and runs unless a send with that id is remembered, whose result is returned instead.
 */
function once(recentSends: DuplicateIds, split: ClientIdSplit, from: Actor, send: SendOnce): Sent {
  const cid = from.cid;
  if (cid === undefined) return send(undefined, undefined, -1);
  const n = from.sends ?? 0;
  from.sends = n + 1; // the actor is one command's: bound services make a new one per call
  const account = keyOf(from.login);
  splitClientId(split, n, cid);
  const earlier = recentSends.get(account, n, cid, split);
  if (earlier) return earlier;
  const { stem, counter } = split;
  const result = send(storedClientId(n, cid), stem, counter);
  // A deliver hook may have sent meanwhile, through this split: then it is not this cid's any more.
  const still = split.stem === stem && split.counter === counter;
  recentSends.remember(account, n, cid, result, still ? split : undefined);
  return result;
}

/** The last login `keyOf` was asked for and its name key: a session's sends come in runs. */
let lastLogin = "";
let lastKey = "";

/** `nameKey(login)`, without lower-casing the same login again and again. */
function keyOf(login: string): string {
  if (login !== lastLogin) {
    lastKey = nameKey(login);
    lastLogin = login;
  }
  return lastKey;
}

/** Runs the deliver hooks on a draft (a hook may rewrite its text or drop it) and checks its text. */
function vetDraft(hooks: PartDeps["hooks"], draft: Omit<StoredMessage, "id">): void {
  for (const hook of hooks) {
    const message: OutgoingMessage = { scope: draft.scope, from: draft.from, text: draft.text };
    if (draft.to !== undefined) message.to = draft.to;
    if (draft.group !== undefined) message.group = draft.group;
    const verdict = hook(message);
    if (!verdict) continue;
    if ("drop" in verdict) throw new ChatError("blocked", `Cannot send message: ${verdict.drop}`);
    draft.text = verdict.text;
  }
  if (draft.text.length === 0) {
    throw new ChatError("bad_arguments", "Cannot send message: the text is empty");
  }
  if (draft.text.length > MAX_TEXT_LENGTH) {
    throw new ChatError(
      "too_large",
      `Cannot send message: text over ${MAX_TEXT_LENGTH} characters`,
    );
  }
}

/** Builds the sends; `accountLogin` tells a recipient's login as it registered. */
export function createSends(
  deps: PartDeps,
  parts: { fanOut: FanOut; stats: ChatStats; accountLogin: (login: string) => string | undefined },
): Sends {
  const { store, sessions, groups, hooks, now, events } = deps;
  const { fanOut, stats, accountLogin } = parts;
  /** Sent messages by account, client message id and send number within the command. */
  const recentSends = deps.duplicates;
  seedDuplicates(store, recentSends);
  const split = newClientIdSplit();

  /** The sending session to leave out of a message's delivery, unless it asked for echoes. */
  function unlessEcho(from: Actor): string | undefined {
    return sessions.get(from.session)?.echo ? undefined : from.session;
  }

  /** Tells the plugins listening that a message was stored. */
  function announce(from: Actor, message: StoredMessage): void {
    if (!events.has("message_stored")) return; // no event object on the message path otherwise
    events.emit("message_stored", { message: toEvent(message, {}) }, () => deps.userOf(from));
  }

  /**
   * Runs the deliver hooks on a new message, checks its text and stores it. The draft is built by
   * the caller as the stored fields in order and is the store's input as is (no copies on this path).
   */
  function storeMessage(draft: NewMessage): AddedMessage {
    vetDraft(hooks, draft);
    stats.messages++;
    return store.addMessage(draft);
  }

  return {
    sendPublic(from, text, opts = {}) {
      return once(recentSends, split, from, (cid, cidStem, cidCounter) => {
        const stored = storeMessage({
          ts: now(),
          conv: "p",
          scope: "public",
          from: from.login,
          to: undefined,
          group: undefined,
          action: opts.action === true,
          text,
          cid,
          cidStem,
          cidCounter,
        });
        fanOut.pushEveryone(stored.event, unlessEcho(from));
        announce(from, stored);
        return sent(stored);
      });
    },

    sendDirect(from, to, text, opts = {}) {
      const toKey = nameKey(to);
      const recipient = accountLogin(to);
      if (!recipient) throw new ChatError("no_such_user", `Cannot send to "${to}": no such user`);
      return once(recentSends, split, from, (cid, cidStem, cidCounter) => {
        const fromKey = keyOf(from.login);
        // Online on any node: a node gets its deliveries live, so nothing is kept for later.
        const online = sessions.of(toKey).length > 0 || deps.cluster?.onlineElsewhere(toKey);
        if (!online) refuseWhenFull(store, deps.maxWaitingPerAccount, toKey, recipient);
        const conv = conversationOf({ scope: "direct", a: fromKey, b: toKey });
        const stored = storeMessage({
          ts: now(),
          conv,
          scope: "direct",
          from: from.login,
          to: recipient,
          group: undefined,
          action: opts.action === true,
          text,
          cid,
          cidStem,
          cidCounter,
        });
        if (!online) store.addUndelivered(toKey, stored);
        fanOut.pushToAccount(toKey, stored.event, unlessEcho(from));
        if (toKey !== fromKey) fanOut.pushToAccount(fromKey, stored.event, unlessEcho(from));
        announce(from, stored);
        return online ? sent(stored) : { ...sent(stored), queued: true };
      });
    },

    sendGroup(from, name, text, opts = {}) {
      const group = requireGroup(groups, name, "send to");
      requireMember(group, from, "send to");
      return once(recentSends, split, from, (cid, cidStem, cidCounter) => {
        const conv = conversationOf({
          scope: "group",
          groupKey: group.key,
          created: group.created,
        });
        const stored = storeMessage({
          ts: now(),
          conv,
          scope: "group",
          from: from.login,
          to: undefined,
          group: group.name,
          action: opts.action === true,
          text,
          cid,
          cidStem,
          cidCounter,
        });
        fanOut.pushToMembers(group, stored.event, unlessEcho(from));
        announce(from, stored);
        return sent(stored);
      });
    },

    commitFailed() {
      // Some remembered sends were never stored: forget them all rather than acknowledge a ghost.
      recentSends.clear();
    },
  };
}

/** Remembers the client ids of the store's recent messages, so their re-sends are answered, not stored. */
export function seedDuplicates(store: Store, duplicates: DuplicateIds): void {
  for (const row of store.recentClientIds(DEDUP_WINDOW)) {
    const stored = parseStoredClientId(row.cid);
    if (!stored) continue; // not written by this server: nothing could re-send it
    duplicates.remember(nameKey(row.sender), stored.send, stored.cid, { id: row.id, ts: row.ts });
  }
}

/**
 * Refuses a direct message to an offline account that already has `limit` messages waiting: the
 * sender is told, before anything is stored, rather than the oldest being dropped unread.
 */
function refuseWhenFull(store: Store, limit: number, toKey: string, recipient: string): void {
  if (store.undeliveredCount(toKey) < limit) return;
  throw new ChatError(
    "mailbox_full",
    `Cannot send to "${recipient}": ${
      limit === 1 ? "1 message already waits" : `${limit} messages already wait`
    } for them`,
  );
}

function sent(stored: StoredMessage): Sent {
  return { id: stored.id, ts: stored.ts };
}
