// Session claims in PostgreSQL: which cluster node holds each session (by its token's hash), so
// `--max-sessions` is exact across nodes. A login counts the others' claims under a per-account lock.

import { type PgTurn, query, write, writeLast } from "./postgres_turn.ts";

/**
 * A node not seen for this long holds no session that counts: it died (`kill -9`, a lost host)
 * without removing its claims. Longer than a node's stall on a slow turn, short enough that the
 * sessions of a dead node stop counting soon after the cluster noticed it (3.5 s on the bus).
 */
export const CLAIMS_LIVE_MS = 10_000;

/** A node not seen for this long is forgotten with its claims (its sessions no longer counted). */
const NODE_FORGOTTEN_MS = 60_000;

/**
 * The advisory lock space of the per-account session locks (two-key form, apart from the
 * migration's one-key lock): "ss" in ASCII, any constant no other chatz lock uses.
 */
const SESSION_LOCK_SPACE = 0x7373;

/** The database's clock in ms: every node's times are read from one clock, so none skews. */
const DB_NOW_MS = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

/** A session as its claim names it. */
export interface ClaimedSession {
  account: string;
  tokenHash: string;
}

/** One node's claims on the sessions it holds; writes go with the store's turn. */
export interface SessionClaims {
  /**
   * Takes `account`'s session lock, held until the turn commits (another node's login of the
   * account waits for that commit), then counts its sessions held by other live nodes, except one
   * with `tokenHash`: the same client moving here replaces that claim (`claim`).
   */
  countElsewhere(account: string, tokenHash: string): number;
  /** Stages this node's claim on a session started here (it takes over one with the same token). */
  claim(session: ClaimedSession): void;
  /** Stages the removal of a session's claim, unless another node has taken it over meanwhile. */
  release(tokenHash: string): void;
  /**
   * Notes that this node is alive, now, and forgets nodes long gone. When its own row had been
   * forgotten (it stalled that long), its sessions are claimed again, unless taken over meanwhile.
   */
  seen(held: () => Iterable<ClaimedSession>): void;
  /**
   * Stages this node's claims made anew from the sessions it holds, after a turn whose claims or
   * releases were lost with its failed commit; a claim another node has taken over stays its.
   */
  resync(held: Iterable<ClaimedSession>): void;
  /** Stages the removal of another node's row and claims: it was taken as dead. */
  forget(other: string): void;
  /** Stages the removal of this node's row and claims: it stops. */
  leave(): void;
}

/** The claims of node `node`, over the store's turn. */
export function pgSessionClaims(turn: PgTurn, node: string): SessionClaims {
  return {
    countElsewhere(account, tokenHash) {
      // Its own statement, before the count: the count's snapshot is taken once the lock is
      // held, so it sees what the node that held it committed.
      write(turn, `SELECT pg_advisory_xact_lock(${SESSION_LOCK_SPACE}, hashtext($1))`, account);
      const [row] = query(
        turn,
        `SELECT count(*) AS n FROM session_claims c JOIN cluster_nodes n ON n.node = c.node
           WHERE c.account = $1 AND c.node <> $2 AND c.token_hash <> $3
             AND n.seen_at > ${DB_NOW_MS} - $4`,
        [account, node, tokenHash, CLAIMS_LIVE_MS],
      );
      return Number(row?.n ?? 0);
    },

    claim(session) {
      write(
        turn,
        `INSERT INTO session_claims (token_hash, account, node) VALUES ($1,$2,$3)
           ON CONFLICT (token_hash) DO UPDATE SET account = EXCLUDED.account, node = EXCLUDED.node`,
        session.tokenHash,
        session.account,
        node,
      );
    },

    release(tokenHash) {
      // Last in the turn: a node claiming this token (its client moving there) may hold the
      // message id counter; this turn must not hold the row while it waits for the counter to store
      // a message, or each would wait for the other.
      writeLast(
        turn,
        "DELETE FROM session_claims WHERE token_hash = $1 AND node = $2",
        tokenHash,
        node,
      );
    },

    seen(held) {
      write(
        turn,
        `DELETE FROM session_claims WHERE node IN
           (SELECT node FROM cluster_nodes WHERE seen_at < ${DB_NOW_MS} - $1)`,
        NODE_FORGOTTEN_MS,
      );
      write(turn, `DELETE FROM cluster_nodes WHERE seen_at < ${DB_NOW_MS} - $1`, NODE_FORGOTTEN_MS);
      const updated = query(
        turn,
        `UPDATE cluster_nodes SET seen_at = ${DB_NOW_MS} WHERE node = $1 RETURNING node`,
        [node],
      );
      if (updated.length > 0) return;
      write(turn, `INSERT INTO cluster_nodes (node, seen_at) VALUES ($1, ${DB_NOW_MS})`, node);
      claimAll(turn, node, held());
    },

    resync(held) {
      write(turn, "DELETE FROM session_claims WHERE node = $1", node);
      claimAll(turn, node, held);
    },

    forget: (other) => forget(turn, other),
    leave: () => forget(turn, node),
  };
}

/** Stages claims on `held` for `node`, leaving those another node holds. */
function claimAll(turn: PgTurn, node: string, held: Iterable<ClaimedSession>): void {
  for (const session of held) {
    write(
      turn,
      `INSERT INTO session_claims (token_hash, account, node) VALUES ($1,$2,$3)
         ON CONFLICT (token_hash) DO NOTHING`,
      session.tokenHash,
      session.account,
      node,
    );
  }
}

/** Stages the removal of a node's claims and row, sent last as a release is (see `release`). */
function forget(turn: PgTurn, node: string): void {
  writeLast(turn, "DELETE FROM session_claims WHERE node = $1", node);
  writeLast(turn, "DELETE FROM cluster_nodes WHERE node = $1", node);
}
