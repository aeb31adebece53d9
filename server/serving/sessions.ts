// The table of logged-in sessions: one per connection, several per account. Pure state, no I/O.
// A session is found by its peer key (the ROUTER routing id) and never by a name a client sends.

import type { OnlineUser } from "../../protocol/plugin.ts";

/** One logged-in connection. */
export interface Session {
  /** The peer key: the routing id as a latin1 string. */
  readonly id: string;
  /** The ROUTER routing id, to address replies. */
  readonly peer: Uint8Array;
  /** The account's name key. */
  readonly account: string;
  /** The login as the account spells it. */
  readonly login: string;
  readonly since: number;
  /** The client program's own name, for the operator. */
  readonly client: string;
  /** The client machine's name as the client reports it: informative, never trusted. */
  readonly host: string;
  /** The client asked for its own messages back as events (`LoginRequest.echo`). */
  readonly echo?: boolean;
  /** The hash of the session token this session logged in with or was given: a logout revokes it. */
  readonly tokenHash?: string;
  /**
   * The hash of the token a password change (`/passwd`) gave this session, every other token being
   * dropped: a logout revokes it too. `tokenHash` stays the login's, which cluster claims are under.
   */
  passwdTokenHash?: string;
  lastSeen: number;
  /**
   * A lag episode: its queue filled at `since`, most recently at `last`. While `active`, nothing is
   * queued for it; a catch-up after message `after` is offered every second until it keeps up.
   */
  lagging?: { since: number; last: number; after: number; active: boolean };
  /** Replies in frames its full queue refused, encoded: sent again with the next catch-up offer. */
  pendingReplies?: { parts: string[]; chars: number };
}

/** Sessions by peer and by account. */
export class SessionTable {
  readonly #byPeer = new Map<string, Session>();
  readonly #byAccount = new Map<string, Session[]>();

  /** Adds a session; true when it is the account's first, so others see it come online. */
  add(session: Session): boolean {
    this.#byPeer.set(session.id, session);
    const list = this.#byAccount.get(session.account);
    if (list) {
      list.push(session);
      return false;
    }
    this.#byAccount.set(session.account, [session]);
    return true;
  }

  /** Removes a session; `last` is true when the account has no session left. */
  remove(peerKey: string): { session: Session; last: boolean } | undefined {
    const session = this.#byPeer.get(peerKey);
    if (!session) return undefined;
    this.#byPeer.delete(peerKey);
    const list = this.#byAccount.get(session.account) ?? [];
    const rest = list.filter((s) => s !== session);
    if (rest.length === 0) this.#byAccount.delete(session.account);
    else this.#byAccount.set(session.account, rest);
    return { session, last: rest.length === 0 };
  }

  get(peerKey: string): Session | undefined {
    return this.#byPeer.get(peerKey);
  }

  /** The sessions of one account; empty when it is offline. */
  of(account: string): readonly Session[] {
    return this.#byAccount.get(account) ?? [];
  }

  /** Every session. */
  all(): IterableIterator<Session> {
    return this.#byPeer.values();
  }

  /** Every session, sorted by login then start, for the operator. */
  list(): Session[] {
    return [...this.#byPeer.values()].sort((a, b) =>
      a.login.localeCompare(b.login) || a.since - b.since
    );
  }

  /** The accounts online with their first session's time, sorted by login. */
  online(): OnlineUser[] {
    const users: OnlineUser[] = [];
    for (const list of this.#byAccount.values()) {
      users.push({ login: list[0].login, since: list[0].since, sessions: list.length });
    }
    return users.sort((a, b) => a.login.localeCompare(b.login));
  }

  /** Sessions whose last sign of life is older than `cutoff`. */
  idleSince(cutoff: number): Session[] {
    const idle: Session[] = [];
    for (const session of this.#byPeer.values()) {
      if (session.lastSeen < cutoff) idle.push(session);
    }
    return idle;
  }

  get sessionCount(): number {
    return this.#byPeer.size;
  }

  get accountCount(): number {
    return this.#byAccount.size;
  }
}
