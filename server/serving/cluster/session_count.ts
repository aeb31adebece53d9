// A cluster node's part in `--max-sessions`: its sessions' claims in the store, the others' counted
// under the account's lock at each login, and a beat that tells the store this node is alive.

import type { Logger } from "../../log.ts";
import type { Session } from "../sessions.ts";
import type { SessionDirectory } from "../shared_state.ts";
import type { ClaimedSession, SessionClaims } from "../store/postgres_claims.ts";

/** How often a node tells the store it is alive: its claims count while it has lately. */
const SEEN_EVERY_MS = 1000;

/** What the login flow and the session endings ask of the cluster about an account's sessions. */
export interface SessionCount {
  /**
   * The account's sessions on the other live nodes, exactly: counted under a lock on the account
   * held until this turn commits, so another node's login of it waits for this one's outcome. A
   * session logged in with the token whose hash is `tokenHash` does not count: it is this client,
   * moving here.
   */
  elsewhere(account: string, tokenHash: string): number;
  /** A session started here: its claim is written with the turn. */
  started(session: Session): void;
  /** A session ended here: its claim goes, unless another session here has the same token. */
  ended(session: Session): void;
  /**
   * Another node was taken as dead (silent on the bus): its claims go with the turn, so its
   * sessions stop counting now rather than once its last beat in the store is old. Were it alive
   * after all, its next beat finds its row gone and claims its sessions again.
   */
  nodeLost(node: string): void;
  /**
   * A turn's commit failed: the claims and releases it staged are lost, while its sessions began
   * and ended here all the same. The next beat makes this node's claims anew.
   */
  commitFailed(): void;
  /** Stops the beat; this node's claims go with the store's next commit. */
  stop(): void;
}

/** What the session count works with. */
export interface SessionCountDeps {
  claims: SessionClaims;
  log: Logger;
  /** This node's sessions; undefined until the serving parts exist. */
  sessions(): SessionDirectory | undefined;
  /** Something was written outside a turn: commit it soon. */
  requestFlush(): void;
}

/** Starts the node's beat in the store and returns the count the login flow uses. */
export function startSessionCount(deps: SessionCountDeps): SessionCount {
  const { claims, log } = deps;
  const held = function* (): Iterable<ClaimedSession> {
    for (const session of deps.sessions()?.all() ?? []) {
      if (session.tokenHash) yield { account: session.account, tokenHash: session.tokenHash };
    }
  };
  let unseen = false;
  let stale = false;
  const beat = () => {
    try {
      claims.seen(held);
      if (stale) {
        stale = false; // set again if this turn's commit fails too
        claims.resync(held());
        log.info("session_claims_renewed", { sessions: deps.sessions()?.sessionCount ?? 0 });
      }
      if (unseen) log.info("cluster_seen_again", {});
      unseen = false;
    } catch (error) {
      // The database is away: logins fail with store_unavailable meanwhile; the next beat retries.
      if (!unseen) log.warn("cluster_seen_failed", { error: (error as Error).message });
      unseen = true;
    }
    deps.requestFlush();
  };
  beat();
  const timer = setInterval(beat, SEEN_EVERY_MS);
  return {
    elsewhere: (account, tokenHash) => claims.countElsewhere(account, tokenHash),
    started(session) {
      if (session.tokenHash) {
        claims.claim({ account: session.account, tokenHash: session.tokenHash });
      }
    },
    ended(session) {
      const hash = session.tokenHash;
      const here = deps.sessions()?.of(session.account) ?? [];
      if (!hash || here.some((s) => s.tokenHash === hash)) return;
      claims.release(hash);
    },
    nodeLost: (node) => claims.forget(node),
    commitFailed() {
      stale = true;
    },
    stop() {
      clearInterval(timer);
      claims.leave();
    },
  };
}
