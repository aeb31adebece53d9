// Synchronous calls into an asynchronous worker: the caller posts a request and waits on shared
// memory (Atomics.wait) until the worker has written the answer. Lets a synchronous seam use an async client.

/** Bytes of shared memory for answers; a longer answer goes over in several chunks. */
const CHUNK_BYTES = 4 * 1024 * 1024;

/** Slots of the control array shared by both sides. */
const STATE = 0; // EMPTY: the caller has read the chunk; FULL: the worker has written one
const ID = 1; // the request the chunk answers
const LENGTH = 2; // bytes in the chunk
const KIND = 3; // what the chunk is: one of the KIND_ values
const EMPTY = 0;
const FULL = 1;
const KIND_LAST = 0;
const KIND_ERROR = 1;
const KIND_MORE = 2;

/** An error the worker's handler threw, with its code (a SQLSTATE, a socket error name) when it had one. */
export class WorkerCallError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
  }
}

/** A request as posted to the worker. */
interface Envelope {
  id: number;
  body: unknown;
}

/** The calling side: `call` blocks this thread until the worker answers or `timeoutMs` passes. */
export interface BlockingWorker {
  call(body: unknown): unknown;
  terminate(): void;
}

/** Starts `url` as a module worker that answers with `serveBlockingCalls`. */
export function startBlockingWorker(url: URL, options: { timeoutMs: number }): BlockingWorker {
  const control = new Int32Array(new SharedArrayBuffer(4 * Int32Array.BYTES_PER_ELEMENT));
  const data = new Uint8Array(new SharedArrayBuffer(CHUNK_BYTES));
  const worker = new Worker(url, { type: "module" });
  worker.postMessage({ control, data });
  let nextId = 0;
  return {
    call(body) {
      const id = ++nextId;
      worker.postMessage({ id, body } satisfies Envelope);
      const deadline = Date.now() + options.timeoutMs;
      const chunks: Uint8Array[] = [];
      for (;;) {
        const left = deadline - Date.now();
        if (left <= 0 || Atomics.wait(control, STATE, EMPTY, left) === "timed-out") {
          throw new WorkerCallError(`no answer within ${options.timeoutMs} ms`, "timeout");
        }
        const [answers, length, kind] = [control[ID], control[LENGTH], control[KIND]];
        const copy = new Uint8Array(length);
        copy.set(data.subarray(0, length));
        Atomics.store(control, STATE, EMPTY);
        Atomics.notify(control, STATE);
        if (answers !== id) continue; // a late answer to a call that timed out
        chunks.push(copy);
        if (kind === KIND_MORE) continue;
        const text = new TextDecoder().decode(join(chunks));
        if (kind === KIND_ERROR) {
          const { message, code } = JSON.parse(text) as { message: string; code?: string };
          throw new WorkerCallError(message, code);
        }
        return text === "" ? undefined : JSON.parse(text);
      }
    },
    terminate: () => worker.terminate(),
  };
}

function join(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return all;
}

/**
 * The worker's side: answers each request with `handle`, one at a time in arrival order, writing
 * the JSON of the result (or of the error) into the shared memory.
 */
export function serveBlockingCalls(handle: (body: unknown) => Promise<unknown>): void {
  let shared: { control: Int32Array; data: Uint8Array } | undefined;
  let queue = Promise.resolve();
  const scope = self as unknown as {
    onmessage: (e: MessageEvent<Envelope | { control: Int32Array; data: Uint8Array }>) => void;
  };
  scope.onmessage = (e) => {
    if ("control" in e.data) {
      shared = e.data;
      return;
    }
    const { id, body } = e.data;
    queue = queue.then(async () => {
      let kind = KIND_LAST;
      let text: string;
      try {
        const result = await handle(body);
        text = result === undefined ? "" : JSON.stringify(result);
      } catch (error) {
        kind = KIND_ERROR;
        const code = (error as { code?: unknown }).code;
        text = JSON.stringify({
          message: error instanceof Error ? error.message : String(error),
          code: code === undefined ? undefined : String(code),
        });
      }
      await answer(shared!, id, kind, new TextEncoder().encode(text));
    });
  };
}

/** Writes an answer chunk by chunk, each once the caller has taken the previous one. */
async function answer(
  shared: { control: Int32Array; data: Uint8Array },
  id: number,
  kind: number,
  bytes: Uint8Array,
): Promise<void> {
  const { control, data } = shared;
  let at = 0;
  do {
    while (Atomics.load(control, STATE) !== EMPTY) {
      await Atomics.waitAsync(control, STATE, FULL).value;
    }
    const end = Math.min(bytes.length, at + data.length);
    data.set(bytes.subarray(at, end));
    control[ID] = id;
    control[LENGTH] = end - at;
    control[KIND] = end < bytes.length ? KIND_MORE : kind;
    at = end;
    Atomics.store(control, STATE, FULL);
    Atomics.notify(control, STATE);
  } while (at < bytes.length);
}
