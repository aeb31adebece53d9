// libzmq's per-connection I/O buffers: how many bytes one read or write syscall moves at most.
// They are draft options zeromq.js does not expose, set through its option setter before bind.

/** libzmq's ZMQ_IN_BATCH_SIZE and ZMQ_OUT_BATCH_SIZE (draft API; 8192 bytes each by default). */
const ZMQ_IN_BATCH_SIZE = 101;
const ZMQ_OUT_BATCH_SIZE = 102;

/**
 * Sets the read and write buffer that libzmq allocates for each connection of `socket` to `bytes`.
 * Only what a connection batches into one syscall is affected: a frame larger than the buffer is
 * read and written straight from its own memory. Applies to connections made after the call, so set
 * it before `bind`. Returns false, changing nothing, when this libzmq lacks the options.
 */
export function setBatchSize(socket: object, bytes: number): boolean {
  const setter = (socket as { setInt32Option?: (option: number, value: number) => void })
    .setInt32Option;
  if (typeof setter !== "function") return false;
  try {
    setter.call(socket, ZMQ_IN_BATCH_SIZE, bytes);
    setter.call(socket, ZMQ_OUT_BATCH_SIZE, bytes);
    return true;
  } catch {
    return false; // EINVAL: a libzmq built without the draft API
  }
}
