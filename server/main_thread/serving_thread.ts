// The main thread's handle on the serving thread: starts the Worker, relays calls, stops it.
// Calls are matched to results by id; log records are handed to the main thread's sinks.

import { ChatError } from "../errors.ts";
import type { LogRecord } from "../log.ts";
import type { LoadReport } from "../serving/plugin_loader.ts";
import type {
  FromServingThread,
  ServerCall,
  ThreadServerOptions,
  ToServingThread,
} from "../thread_protocol.ts";

/** A running serving thread. */
export interface ServingThread {
  readonly endpoint: string;
  readonly plugins: LoadReport;
  /** Asks the server something; rejects with the server's error (a ChatError when it has a code). */
  call<T>(request: ServerCall): Promise<T>;
  /** Graceful stop: clients told, queued sends handed over, store closed. */
  stop(reason: string): Promise<void>;
  /** Settles when the thread is gone, however it ended. */
  readonly ended: Promise<void>;
}

/** Starts the server in a Worker and resolves once it listens. */
export function startServingThread(
  options: ThreadServerOptions,
  onLog: (record: LogRecord) => void,
): Promise<ServingThread> {
  const worker = new Worker(new URL("../serving/worker.ts", import.meta.url), { type: "module" });
  const send = (message: ToServingThread) => worker.postMessage(message);
  const results = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >();
  const ready = Promise.withResolvers<ServingThread>();
  const ended = Promise.withResolvers<void>();
  const stopped = Promise.withResolvers<void>();
  let nextId = 1;
  let stopping: Promise<void> | undefined;

  const finish = () => {
    worker.terminate();
    for (const { reject } of results.values()) reject(new Error("The serving thread ended"));
    results.clear();
    ended.resolve();
  };

  worker.onmessage = ({ data }: { data: FromServingThread }) => {
    switch (data.type) {
      case "log":
        onLog(data.record);
        return;
      case "ready":
        ready.resolve(handle(data.endpoint, data.plugins));
        return;
      case "failed":
        ready.reject(new Error(data.error));
        finish();
        return;
      case "result": {
        const waiter = results.get(data.id);
        results.delete(data.id);
        if (data.ok) waiter?.resolve(data.value);
        else {
          waiter?.reject(data.code ? new ChatError(data.code, data.error) : new Error(data.error));
        }
        return;
      }
      case "stopped":
        stopped.resolve();
        return;
    }
  };
  worker.onerror = (event) => {
    event.preventDefault();
    onLog({
      ts: Date.now(),
      level: "error",
      event: "serving_thread_crashed",
      fields: { error: event.message },
    });
    ready.reject(new Error(`The serving thread crashed: ${event.message}`));
    stopped.resolve();
    finish();
  };

  function handle(endpoint: string, plugins: LoadReport): ServingThread {
    return {
      endpoint,
      plugins,
      call<T>(request: ServerCall) {
        const id = nextId++;
        return new Promise<T>((resolve, reject) => {
          results.set(id, { resolve: resolve as (value: unknown) => void, reject });
          send({ type: "call", id, call: request });
        });
      },
      stop(reason) {
        stopping ??= (async () => {
          send({ type: "stop", reason });
          await stopped.promise;
          finish();
        })();
        return stopping;
      },
      ended: ended.promise,
    };
  }

  send({ type: "start", options });
  return ready.promise;
}
