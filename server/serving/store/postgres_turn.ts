// The PostgreSQL store's turn: what one event-loop turn staged (writes, pages, counts), its open
// transaction and its hold on the message id counter; and the functions that send, commit and roll back.

import { directParties, pageRow, type PendingPage } from "./pages.ts";
import type { Param, PgRequest, Row, Statement } from "./postgres_worker.ts";
import type { StoreOptions } from "./store.ts";

/** Most direct conversations remembered as noted; past it the memory starts again (notes are idempotent). */
const MAX_NOTED = 100_000;

/** What a cluster node is told about the message id counter (PostgresStoreOptions carries these). */
export interface IdCounterHooks {
  /**
   * The turn locked the message id counter, whose value was `after`: the ids it gives are above
   * it, and every id up to it is committed (a cluster node orders deliveries by it).
   */
  onIdsLocked?(after: number): void;
  /** The turn that locked the counter committed; the counter is now `last`. */
  onIdsCommitted?(last: number): void;
}

/** The store's state between one turn's first write and its commit, shared by its method groups. */
export interface PgTurn {
  /** Runs a request in the worker and waits for its rows. */
  readonly ask: (request: PgRequest) => Row[];
  readonly hooks: StoreOptions & IdCounterHooks;
  /** Writes of this turn not yet sent: they go with the next read or the commit. */
  staged: Statement[];
  /**
   * Writes sent only with the commit, after every other: the row locks they take are held by a
   * transaction that waits for nothing more (see `writeLast`).
   */
  last: Statement[];
  /** This turn has written (so a commit must follow). */
  inTurn: boolean;
  /** A transaction is open on the server. */
  open: boolean;
  /** This transaction holds the message id counter. */
  holdsIds: boolean;
  /** The highest message id this store knows was given. */
  lastId: number;
  /** The pages of the turn, by conversation. */
  readonly pending: Map<string, PendingPage>;
  /** Direct conversations known to be in `direct_convs`, so a page does not note them again. */
  noted: Set<string>;
  /**
   * Undelivered messages per account as counted in this turn, under the id lock (other nodes'
   * adds wait for it), and the (account, message) pairs this turn added: forgotten at the turn's end.
   */
  readonly waiting: Map<string, number>;
  readonly added: Set<string>;
  /** Stages a full page's writes: `stagePage` over this turn, made once for `stageMessage`. */
  readonly writePage: (page: PendingPage) => void;
}

/** A store's turn state, empty, over a function that runs a request in the worker. */
export function newTurn(
  ask: (request: PgRequest) => Row[],
  hooks: StoreOptions & IdCounterHooks,
): PgTurn {
  const turn: PgTurn = {
    ask,
    hooks,
    staged: [],
    last: [],
    inTurn: false,
    open: false,
    holdsIds: false,
    lastId: 0,
    pending: new Map(),
    noted: new Set(),
    waiting: new Map(),
    added: new Set(),
    writePage: (page) => stagePage(turn, page),
  };
  return turn;
}

/** Notes that the turn wrote, when a write is sent at once rather than staged. */
export function markWrite(turn: PgTurn): void {
  if (turn.inTurn) return;
  turn.inTurn = true;
  turn.hooks.onWrite?.();
}

/** Stages a write for the turn's commit. */
export function write(turn: PgTurn, text: string, ...params: Param[]): void {
  markWrite(turn);
  turn.staged.push({ text, params });
}

/**
 * Stages a write that goes with the commit, after the turn's other statements: a delete of a row
 * another node may be writing under a lock of its own (a session claim under the message id
 * counter's lock), so this turn never holds that row while it waits for such a lock.
 */
export function writeLast(turn: PgTurn, text: string, ...params: Param[]): void {
  markWrite(turn);
  turn.last.push({ text, params });
}

/** Runs a read after the staged writes, in the open transaction when there is one. */
export function query(
  turn: PgTurn,
  text: string,
  params: Param[] = [],
  transaction = false,
): Row[] {
  const begin = !turn.open && (transaction || turn.staged.length > 0);
  const statements = [...turn.staged, { text, params }];
  turn.staged = [];
  if (!begin) return turn.ask({ op: "run", begin, statements });
  turn.open = true;
  try {
    return turn.ask({ op: "run", begin, statements });
  } catch (error) {
    turn.open = false; // the worker opened nothing: the next statements must not run outside one
    throw error;
  }
}

/** Stages a page's row, and notes a direct conversation's two parties the first time. */
function stagePage(turn: PgTurn, page: PendingPage): void {
  write(
    turn,
    `INSERT INTO pages (last, conv, first, newest_ts, count, body, cids)
       VALUES ($1,$2,$3,$4,$5,$6,$7)`,
    ...pageRow(page),
  );
  if (page.conv.startsWith("d:") && !turn.noted.has(page.conv)) {
    const [a, b] = directParties(page.conv);
    const note = `INSERT INTO direct_convs (account, conv) VALUES ($1,$2) ON CONFLICT DO NOTHING`;
    write(turn, note, a, page.conv);
    if (b !== a) write(turn, note, b, page.conv);
    if (turn.noted.size >= MAX_NOTED) turn.noted = new Set();
    turn.noted.add(page.conv);
  }
}

/** Stages the messages buffered for commit, before a read or a delete that must see them. */
export function flushPages(turn: PgTurn): void {
  for (const page of turn.pending.values()) stagePage(turn, page);
  turn.pending.clear();
}

/** Forgets which direct conversations are noted, after some were deleted or rolled back. */
export function forgetNoted(turn: PgTurn): void {
  turn.noted = new Set();
}

/** Forgets the turn's counts of undelivered messages, after some were deleted. */
export function forgetWaiting(turn: PgTurn): void {
  turn.waiting.clear();
  turn.added.clear();
}

/** Takes the message id counter's lock, held to the commit: other nodes' message turns wait. */
export function lockIds(turn: PgTurn): void {
  if (turn.holdsIds) return;
  const [row] = query(
    turn,
    "SELECT value FROM meta WHERE key = 'last_message_id' FOR UPDATE",
    [],
    true,
  );
  turn.holdsIds = true;
  const after = Number(row?.value ?? 0);
  turn.lastId = Math.max(turn.lastId, after);
  markWrite(turn);
  turn.hooks.onIdsLocked?.(after);
}

/** The highest message id given, by any node: read from the counter unless this turn holds it. */
export function lastMessageId(turn: PgTurn): number {
  if (!turn.holdsIds) {
    const counter = query(turn, "SELECT value FROM meta WHERE key = 'last_message_id'");
    turn.lastId = Math.max(turn.lastId, Number(counter[0]?.value ?? 0));
  }
  return turn.lastId;
}

function endTurn(turn: PgTurn): void {
  turn.staged = [];
  turn.last = [];
  turn.inTurn = turn.open = turn.holdsIds = false;
  forgetWaiting(turn);
}

/** Sends the turn's staged writes, its pages and the counter with the commit, in one batch. */
export function commit(turn: PgTurn): void {
  if (!turn.inTurn) return;
  flushPages(turn);
  const idsTaken = turn.holdsIds;
  if (idsTaken) {
    write(turn, "UPDATE meta SET value = $1 WHERE key = 'last_message_id'", turn.lastId);
  }
  const request: PgRequest = {
    op: "run",
    begin: !turn.open,
    statements: [...turn.staged, ...turn.last],
    end: "commit",
  };
  endTurn(turn);
  turn.ask(request);
  if (idsTaken) turn.hooks.onIdsCommitted?.(turn.lastId);
}

/** Abandons the turn: its staged writes, its pages and what it noted and counted. */
export function rollback(turn: PgTurn): void {
  turn.pending.clear();
  forgetNoted(turn); // what this transaction noted is gone with it
  const wasOpen = turn.open;
  endTurn(turn);
  if (wasOpen) turn.ask({ op: "run", begin: false, statements: [], end: "rollback" });
}
