// CLOCK_MONOTONIC in nanoseconds, read through libc: one clock every process of the machine shares.
// Deno's process.hrtime.bigint() counts from its own process's start: useless across processes.

const CLOCK_MONOTONIC = 1; // from <time.h> on Linux

const libc = Deno.dlopen(
  "libc.so.6",
  {
    clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  } as const,
);
/** struct timespec { time_t tv_sec; long tv_nsec; } on 64-bit Linux. */
const timespec = new BigInt64Array(2);

/**
 * Nanoseconds of CLOCK_MONOTONIC: comparable between processes of this machine, never jumps.
 *
 * @example
 * ```ts
 * import { monotonicNs } from "./clock.ts";
 * const started = monotonicNs();
 * const elapsedMs = Number(monotonicNs() - started) / 1e6;
 * ```
 */
export function monotonicNs(): bigint {
  if (libc.symbols.clock_gettime(CLOCK_MONOTONIC, timespec) !== 0) {
    throw new Error("Cannot read CLOCK_MONOTONIC: clock_gettime failed");
  }
  return timespec[0] * 1_000_000_000n + timespec[1];
}
