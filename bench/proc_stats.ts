// Memory and CPU figures of processes, read from /proc. Read through `cat`: Deno lets only
// --allow-all read another process's /proc files, and the bench task grants --allow-run instead.

import { monotonicNs } from "./clock.ts";

/** Clock ticks per second in /proc's CPU times: USER_HZ, fixed at 100 in Linux's user-space ABI. */
const USER_HZ = 100;

/** The lines of /proc files, read in one `cat`. */
export async function readProc(paths: string[]): Promise<string[]> {
  const output = await new Deno.Command("cat", { args: paths, stderr: "piped" }).output();
  if (!output.success) {
    throw new Error(`Cannot read ${paths.join(", ")}: ${new TextDecoder().decode(output.stderr)}`);
  }
  return new TextDecoder().decode(output.stdout).split("\n");
}

/** VmRSS of a process in bytes, from /proc/<pid>/status. */
export async function rssBytes(pid: number): Promise<number> {
  const lines = await readProc([`/proc/${pid}/status`]);
  const line = lines.find((l) => l.startsWith("VmRSS:"));
  const kib = line && /(\d+) kB/.exec(line)?.[1];
  if (!kib) throw new Error(`Cannot read the memory of process ${pid}: no VmRSS line`);
  return Number(kib) * 1024;
}

/** CPU ticks: of the whole machine (busy), and of each watched process (user + system). */
interface Ticks {
  atNs: bigint;
  machineBusy: number;
  processes: number[];
}

async function ticks(pids: number[]): Promise<Ticks> {
  const lines = await readProc(["/proc/stat", ...pids.map((pid) => `/proc/${pid}/stat`)]);
  const atNs = monotonicNs();
  // "cpu user nice system idle iowait irq softirq steal ...": busy is all but idle and iowait.
  const cpu = lines[0].trim().split(/\s+/).slice(1).map(Number);
  const machineBusy = cpu.reduce((a, b) => a + b, 0) - cpu[3] - cpu[4];
  const processes = pids.map((pid) => {
    const line = lines.find((l) => l.startsWith(`${pid} (`));
    if (!line) return 0;
    // Fields after the command name: state is field 3, utime 14 and stime 15.
    const fields = line.slice(line.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]);
  });
  return { atNs, machineBusy, processes };
}

/** Cores kept busy over a window: by the target, by the load generators, and by everything else. */
export interface CpuUse {
  target: number;
  load: number;
  /** Processes outside this benchmark (other work on the machine) plus the orchestrator. */
  other: number;
}

/** Measures CPU use between two CLOCK_MONOTONIC moments (timed, like the run it watches). */
export async function cpuUse(
  target: number,
  loads: number[],
  fromNs: bigint,
  toNs: bigint,
): Promise<CpuUse> {
  const until = (ns: bigint) =>
    new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(ns - monotonicNs()) / 1e6)));
  const pids = [target, ...loads];
  await until(fromNs);
  const before = await ticks(pids);
  await until(toNs);
  const after = await ticks(pids);
  const seconds = Number(after.atNs - before.atNs) / 1e9;
  const cores = (t: number) => t / USER_HZ / seconds;
  const used = after.processes.map((t, i) => t - before.processes[i]);
  const load = used.slice(1).reduce((a, b) => a + b, 0);
  return {
    target: cores(used[0]),
    load: cores(load),
    other: cores(after.machineBusy - before.machineBusy - used[0] - load),
  };
}
