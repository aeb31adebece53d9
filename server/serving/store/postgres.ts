// The cluster store: the `Store` (store.ts) on PostgreSQL, shared by every node of a cluster.
// The serving thread waits for each answer; a turn's writes go over in one pipelined batch at commit.

import { ChatError } from "../../../protocol/errors.ts";
import { startBlockingWorker, WorkerCallError } from "./blocking_worker.ts";
import { stageMessage } from "./pages.ts";
import type { PgRequest, Row } from "./postgres_worker.ts";
import { pgHistoryMethods } from "./postgres_history.ts";
import { pgIdentityMethods } from "./postgres_identity.ts";
import { pgOperatorMethods } from "./postgres_operator.ts";
import { pgSessionClaims, type SessionClaims } from "./postgres_claims.ts";
import {
  commit,
  flushPages,
  forgetNoted,
  forgetWaiting,
  type IdCounterHooks,
  lastMessageId,
  lockIds,
  newTurn,
  rollback,
  write,
} from "./postgres_turn.ts";
import type { AddedMessage, NewMessage, Store, StoreOptions } from "./store.ts";

/**
 * How long the serving thread waits for one answer before it reports the database unreachable:
 * longer than a PostgreSQL fail-over's usual pause, short enough that clients see an error soon.
 */
const ANSWER_TIMEOUT_MS = 15_000;

/** Connections per node: one carries the serving thread's turns; the spare ones absorb reconnects. */
const POOL_SIZE = 2;

/** How to open the PostgreSQL store; a cluster node also hears about the id counter (IdCounterHooks). */
export interface PostgresStoreOptions extends StoreOptions, IdCounterHooks {
  /** Overrides ANSWER_TIMEOUT_MS (tests). */
  timeoutMs?: number;
}

/** The store in PostgreSQL, which a cluster node also keeps its session claims in. */
export interface PostgresStore extends Store {
  /** The session claims of node `node` (postgres_claims.ts), written with this store's turns. */
  sessionClaims(node: string): SessionClaims;
}

/** The database could not be reached or failed a request: the caller gets `store_unavailable`. */
export class StoreUnavailableError extends ChatError {
  constructor(message: string, cause?: unknown) {
    super("store_unavailable", message);
    this.cause = cause;
  }
}

/** Whether `url` names a PostgreSQL database rather than a data folder. */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

/** A URL with its password masked, for logs and errors. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}

/**
 * Opens the store in the PostgreSQL database at `url`, creating its tables on first use. Message
 * ids come from one counter row that a turn storing messages locks until it commits: ids are then
 * given in commit order across every node, so a client's resume cursor skips nothing (a sequence
 * would hand out ids in call order, and a reader could see id 6 committed before 5).
 */
export function openPostgresStore(
  url: string,
  options: PostgresStoreOptions = {},
): PostgresStore {
  const worker = startBlockingWorker(new URL("./postgres_worker.ts", import.meta.url), {
    timeoutMs: options.timeoutMs ?? ANSWER_TIMEOUT_MS,
  });
  const ask = (request: PgRequest): Row[] => {
    try {
      return (worker.call(request) ?? []) as Row[];
    } catch (error) {
      throw unavailable(error, url);
    }
  };
  try {
    ask({ op: "open", url, max: POOL_SIZE });
  } catch (error) {
    worker.terminate();
    throw error;
  }
  return postgresStore(ask, () => worker.terminate(), options);
}

function unavailable(error: unknown, url: string): Error {
  const code = error instanceof WorkerCallError ? error.code : undefined;
  const why = error instanceof Error ? error.message : String(error);
  return new StoreUnavailableError(
    `Cannot use the database at ${redactUrl(url)}: ${why}${code ? ` (${code})` : ""}`,
    error,
  );
}

/**
 * The store over a function that runs a request in the worker: the method groups of
 * postgres_identity.ts, postgres_history.ts and postgres_operator.ts over one turn state
 * (postgres_turn.ts), as the SQLite store builds its own from groups over its connection.
 */
function postgresStore(
  ask: (request: PgRequest) => Row[],
  terminate: () => void,
  options: PostgresStoreOptions,
): PostgresStore {
  const turn = newTurn(ask, options);
  return {
    sessionClaims: (node) => pgSessionClaims(turn, node),
    ...pgOperatorMethods(turn),
    ...pgIdentityMethods(turn),
    ...pgHistoryMethods(turn),

    // ---- transactions ----

    commit(): void {
      commit(turn);
    },

    rollback(): void {
      rollback(turn);
    },

    close(): void {
      try {
        commit(turn);
        ask({ op: "close" });
      } finally {
        terminate();
      }
    },

    clearIdentities(): number {
      flushPages(turn);
      const count = this.accountCount();
      for (
        const table of ["accounts", "tokens", "groups", "members", "undelivered", "direct_convs"]
      ) {
        write(turn, `DELETE FROM ${table}`);
      }
      forgetNoted(turn);
      forgetWaiting(turn);
      write(turn, "DELETE FROM pages WHERE conv <> 'p'");
      return count;
    },

    // ---- messages ----

    addMessage(message: NewMessage): AddedMessage {
      lockIds(turn);
      return stageMessage(turn.pending, ++turn.lastId, message, turn.writePage);
    },

    get lastMessageId(): number {
      return lastMessageId(turn);
    },
  };
}
