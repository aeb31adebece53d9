// The PostgreSQL store's worker: runs the npm `postgres` client for the store on the serving
// thread, which waits for each answer (blocking_worker.ts). A turn's transaction stays open across requests.

import postgres from "postgres";
import { serveBlockingCalls } from "./blocking_worker.ts";
import { migrateSchema, PG_TYPES } from "./postgres_schema.ts";

/** A parameter of a statement. */
export type Param = string | number | null | string[] | number[];

/** One SQL statement with `$n` parameters. */
export interface Statement {
  text: string;
  params: Param[];
}

/** What the store asks the worker. */
export type PgRequest =
  | { op: "open"; url: string; max: number }
  | {
    op: "run";
    /** Opens a transaction before the statements. */
    begin: boolean;
    statements: Statement[];
    /** Ends the transaction after them. */
    end?: "commit" | "rollback";
  }
  | { op: "close" };

/** A row as the worker returns it. */
export type Row = Record<string, string | number | null>;

/** Seconds to wait for a connection before reporting the database unreachable. */
const CONNECT_TIMEOUT_S = 5;

let sql: postgres.Sql | undefined;

/** The open transaction: a `sql.begin` whose callback waits until the store ends the turn. */
interface OpenTransaction {
  tx: postgres.TransactionSql;
  /** Lets the callback return (COMMIT) or throw (ROLLBACK). */
  end(how: "commit" | "rollback"): void;
  /** Settles when the transaction has ended: committed, rolled back, or its connection lost. */
  done: Promise<unknown>;
  /** Why it can take no more statements: it failed, or its connection went. */
  failed?: Error;
}

let open: OpenTransaction | undefined;

/** Thrown to make `sql.begin` roll back. */
class Rollback extends Error {}

serveBlockingCalls(async (body) => {
  const request = body as PgRequest;
  switch (request.op) {
    case "open":
      sql = postgres(request.url, {
        max: request.max,
        connect_timeout: CONNECT_TIMEOUT_S,
        onnotice: () => {},
        types: PG_TYPES,
      });
      await migrateSchema(sql);
      return undefined;
    case "run":
      return await run(request);
    case "close":
      open?.end("rollback");
      open = undefined;
      await sql?.end({ timeout: CONNECT_TIMEOUT_S });
      return undefined;
  }
});

/**
 * Runs a batch, pipelined: the statements go out together and the answers come back together.
 * Inside a transaction they run on its connection; outside one, on any pooled connection.
 * Returns the rows of the last statement.
 */
async function run(request: Extract<PgRequest, { op: "run" }>): Promise<Row[]> {
  if (request.begin) open = await begin();
  const current = open;
  if (!current) {
    if (request.end === "rollback") return []; // ending what the server already ended
    if (request.end === "commit") {
      // The store believes a transaction is open that the worker lost: its writes are not there.
      throw Object.assign(new Error("the transaction was lost"), { code: "08006" });
    }
    const results = await Promise.all(request.statements.map((s) => execute(sql!, s)));
    return results.length > 0 ? [...results.at(-1)!] : [];
  }
  if (current.failed) {
    if (request.end) open = undefined;
    if (request.end === "rollback") return [];
    throw current.failed;
  }
  const sent = request.statements.map((s) => execute(current.tx, s));
  const settled = await Promise.allSettled(sent);
  const rejected = settled.find((r) => r.status === "rejected");
  if (rejected) current.failed = rejected.reason as Error;
  if (request.end || current.failed) {
    current.end(request.end === "commit" && !current.failed ? "commit" : "rollback");
    try {
      await current.done;
    } catch (error) {
      if (!(error instanceof Rollback)) current.failed ??= error as Error;
    }
    if (request.end) open = undefined;
  }
  if (current.failed) throw current.failed;
  const last = settled.at(-1) as PromiseFulfilledResult<postgres.RowList<Row[]>> | undefined;
  return last ? [...last.value] : [];
}

function execute(on: postgres.Sql | postgres.TransactionSql, s: Statement) {
  return on.unsafe<Row[]>(s.text, s.params as postgres.ParameterOrJSON<never>[], {
    prepare: true,
  });
}

/** Opens a transaction that stays open across requests until `end` is called. */
function begin(): Promise<OpenTransaction> {
  return new Promise((resolve, reject) => {
    let end!: (how: "commit" | "rollback") => void;
    const ended = new Promise<void>((done, fail) => {
      end = (how) => how === "commit" ? done() : fail(new Rollback("rolled back"));
    });
    let opened: OpenTransaction | undefined;
    const done = sql!.begin(async (tx) => {
      opened = { tx, end, done };
      resolve(opened);
      await ended;
    });
    // A lost connection ends the transaction: nothing more may be sent on it.
    done.catch((error) => {
      if (!opened) reject(error);
      else if (!(error instanceof Rollback)) opened.failed ??= error as Error;
    });
  });
}
