// A load-generator process of `deno task bench`: reads commands as JSON lines on stdin, runs them
// on its workers and answers each on stdout with every peer's report. Exits when stdin closes.

import type { LoadAnswer, LoadCommand, LoadRequest, PeerReport } from "./load_protocol.ts";
import { readLines } from "../transport/lines.ts";

/**
 * Peers per worker. Each idle socket loop sleeps in poll(2) on one thread of its runtime's blocking
 * pool, which Deno caps at 32 threads; past that, wake-ups queue behind one-second polls. Workers
 * have their own runtime, so two dozen sockets per worker keep every socket's wake-up prompt. No
 * fewer: each worker is a runtime of its own, and with one per worker C's hundred receivers cost
 * the load core three to six times as much per delivery as with two dozen (a busy socket loop
 * yields to the others of its worker after every 256 frames).
 */
const PEERS_PER_WORKER = 24;

interface WorkerHandle {
  worker: Worker;
  waiting: Map<number, (answer: LoadAnswer) => void>;
  failed?: string;
}

const workers: WorkerHandle[] = [];
const encoder = new TextEncoder();
const out = Deno.stdout.writable.getWriter();

function startWorker(): WorkerHandle {
  const worker = new Worker(new URL("./load_worker.ts", import.meta.url), { type: "module" });
  const handle: WorkerHandle = { worker, waiting: new Map() };
  worker.onmessage = ({ data }: { data: LoadAnswer }) => {
    const resolve = handle.waiting.get(data.id);
    handle.waiting.delete(data.id);
    resolve?.(data);
  };
  worker.onerror = (event) => {
    event.preventDefault();
    handle.failed = `Load worker crashed: ${event.message}`;
    for (const [id, resolve] of handle.waiting) resolve({ id, ok: false, error: handle.failed });
    handle.waiting.clear();
  };
  return handle;
}

function ask(handle: WorkerHandle, request: LoadRequest): Promise<LoadAnswer> {
  if (handle.failed) return Promise.resolve({ id: request.id, ok: false, error: handle.failed });
  return new Promise((resolve) => {
    handle.waiting.set(request.id, resolve);
    handle.worker.postMessage(request);
  });
}

/** Splits a list into `parts` nearly equal consecutive slices. */
function split<T>(items: readonly T[], parts: number): T[][] {
  const slices: T[][] = [];
  for (let i = 0; i < parts; i++) {
    slices.push(
      items.slice(
        Math.floor((i * items.length) / parts),
        Math.floor(((i + 1) * items.length) / parts),
      ),
    );
  }
  return slices;
}

async function handle(id: number, command: LoadCommand): Promise<LoadAnswer> {
  let requests: [WorkerHandle, LoadRequest][];
  if (command.op === "register") {
    // One worker: registering holds only `concurrency` sockets at a time.
    if (workers.length === 0) workers.push(startWorker());
    requests = [[workers[0], { id, command }]];
  } else if (command.op === "setup") {
    if (workers.length > 0) return { id, ok: false, error: "Cannot set up twice" };
    const slices = split(
      command.peers,
      Math.max(
        1,
        Math.ceil(command.peers.length / PEERS_PER_WORKER),
      ),
    );
    requests = slices.map((peers) => [startWorker(), { id, command: { ...command, peers } }]);
    for (const [worker] of requests) workers.push(worker);
  } else {
    requests = workers.map((worker) => [worker, { id, command }]);
  }
  const answers = await Promise.all(requests.map(([worker, request]) => ask(worker, request)));
  const failure = answers.find((a) => !a.ok);
  if (failure) return failure;
  const peers: PeerReport[] = answers.flatMap((a) => (a.ok ? a.peers : []));
  return { id, ok: true, peers };
}

async function write(answer: LoadAnswer): Promise<void> {
  await out.write(encoder.encode(JSON.stringify(answer) + "\n"));
}

async function main(): Promise<void> {
  try {
    for await (const line of readLines(Deno.stdin.readable)) {
      if (!line.trim()) continue;
      const request = JSON.parse(line) as LoadRequest;
      const answer = await handle(request.id, request.command);
      await write(answer);
      if (request.command.op === "close") return;
    }
  } finally {
    for (const { worker } of workers) worker.terminate();
  }
}

await main();
Deno.exit(0);
