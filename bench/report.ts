// The benchmark's output: the table of figures against issue #5's targets, and the machine.
// Figures are medians of the runs with their min–max; speed never changes the exit code.

import type { ScenarioResult } from "./context.ts";
import { type CpuUse, readProc } from "./proc_stats.ts";
import { type Spread, spread } from "./stats.ts";

/** One line of the table: a figure of a scenario and its target. */
interface RowSpec {
  scenario: string;
  label: string;
  metric: string;
  format: (value: number) => string;
  target?: string;
  /** Whether the chatz median (and its ratio to the baseline) meets the target. */
  met?: (chatz: number, ratio: number | undefined) => boolean;
}

/**
 * Cores that processes outside the benchmark may use during a measured window before the table
 * flags the scenario: the target and the load each own one core, so anything else competes.
 */
const BUSY_CORES = 0.25;

const rate = (v: number) => `${(v / 1000).toFixed(1)}k/s`;
const micros = (v: number) => `${Math.round(v)} µs`;
const millis = (v: number) => `${v.toFixed(2)} ms`;

const ROWS: RowSpec[] = [
  {
    scenario: "A",
    label: "A direct relay 1→1",
    metric: "perSecond",
    format: rate,
    target: "≥300k/s & ≥2.5× baseline",
    met: (c, ratio) => c >= 300_000 && ratio !== undefined && ratio >= 2.5,
  },
  {
    scenario: "B",
    label: "B 50 pairs, total",
    metric: "perSecond",
    format: rate,
    target: "≥270k/s",
    met: (c) => c >= 270_000,
  },
  {
    scenario: "C",
    label: "C group of 100, deliveries",
    metric: "perSecond",
    format: rate,
    target: "≥650k/s",
    met: (c) => c >= 650_000,
  },
  {
    scenario: "D",
    label: "D latency p50 @5k/s",
    metric: "p50",
    format: micros,
    target: "≤250 µs",
    met: (c) => c <= 250,
  },
  {
    scenario: "D",
    label: "D latency p99 @5k/s",
    metric: "p99",
    format: micros,
    target: "≤1 ms",
    met: (c) => c <= 1000,
  },
  { scenario: "D", label: "D latency max @5k/s", metric: "max", format: micros },
  {
    scenario: "E",
    label: "E memory per idle session",
    metric: "kibPerSession",
    format: (v) => `${v.toFixed(1)} KiB`,
    target: "≤30 KiB",
    met: (c) => c <= 30,
  },
  {
    scenario: "F",
    label: "F reconnect storm",
    metric: "seconds",
    format: (v) => `${v.toFixed(2)} s`,
    target: "≤10 s",
    met: (c) => c <= 10,
  },
  {
    scenario: "K",
    label: "K cluster relay across 2 nodes",
    metric: "relayPerSecond",
    format: rate,
  },
  { scenario: "K", label: "K cluster relay p99", metric: "relayP99Ms", format: millis },
  {
    scenario: "K",
    label: "K cluster group fan-out",
    metric: "fanOutDeliveriesPerSecond",
    format: rate,
  },
  {
    scenario: "K",
    label: "K failover after kill -9",
    metric: "failoverSeconds",
    format: (v) => `${v.toFixed(1)} s`,
  },
  {
    scenario: "S",
    label: "S sustained relay, cid on each",
    metric: "perSecond",
    format: rate,
    target: "≥90% of without cid",
    met: (_, ratio) => ratio !== undefined && ratio >= 0.9,
  },
  {
    scenario: "S",
    label: "S messages per run",
    metric: "messages",
    format: (v) => `${(v / 1e6).toFixed(2)}M`,
    target: "≥2M",
    met: (c) => c >= 2_000_000,
  },
  {
    scenario: "H",
    label: "H RSS after 1,000 reg.+logins",
    metric: "mibGrowth",
    format: (v) => `+${v.toFixed(1)} MiB`,
    target: "≤64 MiB",
    met: (c) => c <= 64,
  },
  {
    scenario: "I",
    label: "I memory per session, passwords",
    metric: "kibPerSession",
    format: (v) => `${v.toFixed(1)} KiB`,
    target: "≤45 KiB",
    met: (c) => c <= 45,
  },
  { scenario: "G", label: "G /history public 50 p50", metric: "p50", format: millis },
  {
    scenario: "G",
    label: "G /history public 50 p99",
    metric: "p99",
    format: millis,
    target: "≤5 ms",
    met: (c) => c <= 5,
  },
  {
    scenario: "G",
    label: "G seeding (store module)",
    metric: "seedPerSecond",
    format: rate,
  },
];

/** One line of the printed table, also kept in the JSON file. */
export interface TableRow {
  scenario: string;
  label: string;
  /** chatz as it runs by default: CURVE. */
  chatz?: Spread;
  /** chatz with `--no-curve`. */
  plaintext?: Spread;
  baseline?: Spread;
  /** chatz (CURVE) ÷ baseline. */
  ratio?: number;
  /** chatz (CURVE) ÷ chatz plaintext: what encryption changes. */
  curveRatio?: number;
  target?: string;
  met?: boolean;
  checks: string;
}

function figures(runs: ScenarioResult["chatz"], metric: string): Spread | undefined {
  const values = runs.map((r) => r.metrics[metric]).filter((v) => Number.isFinite(v));
  return values.length > 0 ? spread(values) : undefined;
}

/** The table's rows from the scenarios that ran. */
export function tableRows(results: ScenarioResult[]): TableRow[] {
  const rows: TableRow[] = [];
  for (const spec of ROWS) {
    const result = results.find((r) => r.id === spec.scenario);
    if (!result) continue;
    const chatz = figures(result.chatz, spec.metric);
    const baseline = figures(result.baseline, spec.metric);
    const plaintext = figures(result.plaintext, spec.metric);
    const ratio = chatz && baseline && baseline.median !== 0
      ? chatz.median / baseline.median
      : undefined;
    const curveRatio = chatz && plaintext && plaintext.median !== 0
      ? chatz.median / plaintext.median
      : undefined;
    const runs = [...result.chatz, ...result.plaintext, ...result.baseline];
    const problems = runs.flatMap((r) => r.problems);
    const warnings = runs.flatMap((r) => r.warnings ?? []);
    const other = Math.max(
      0,
      ...runs.map((r) => (r.detail.cpuCores as CpuUse | undefined)?.other ?? 0),
    );
    const noise = other > BUSY_CORES ? `; other work used ${other.toFixed(2)} cores` : "";
    rows.push({
      scenario: spec.scenario,
      label: spec.label,
      chatz,
      plaintext,
      baseline,
      ratio,
      curveRatio,
      target: spec.target,
      met: chatz && spec.met ? spec.met(chatz.median, ratio) : undefined,
      checks: result.error
        ? `error: ${result.error}`
        : `${problems.length > 0 ? `${problems.length} problem(s)` : "exact"}${
          warnings.length > 0 ? `; ${warnings.length} warning(s)` : ""
        }${noise}`,
    });
  }
  return rows;
}

/** The rows as an aligned text table. */
export function formatTable(rows: TableRow[]): string {
  const formatOf = (row: TableRow) => ROWS.find((s) => s.label === row.label)!.format;
  const cell = (row: TableRow, s: Spread | undefined) => {
    if (!s) return "—";
    const f = formatOf(row);
    return s.min === s.max ? f(s.median) : `${f(s.median)} [${f(s.min)}–${f(s.max)}]`;
  };
  const header = [
    "Scenario",
    "chatz CURVE median [min–max]",
    "chatz plaintext median [min–max]",
    "CURVE÷plain",
    "baseline median [min–max]",
    "CURVE÷base",
    "target (CURVE)",
    "met",
    "checks",
  ];
  const lines = rows.map((row) => [
    row.label,
    cell(row, row.chatz),
    cell(row, row.plaintext),
    row.curveRatio === undefined ? "—" : `${row.curveRatio.toFixed(2)}×`,
    cell(row, row.baseline),
    row.ratio === undefined ? "—" : `${row.ratio.toFixed(2)}×`,
    row.target ?? "—",
    row.met === undefined ? "—" : row.met ? "met" : "not met",
    row.checks,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const render = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [
    render(header),
    `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
    ...lines.map(render),
  ]
    .join("\n");
}

/** The machine, as the JSON file records it. */
export async function machineInfo(): Promise<Record<string, unknown>> {
  const read = (path: string) => readProc([path]).catch(() => [] as string[]);
  const model = (await read("/proc/cpuinfo")).find((l) => l.startsWith("model name"));
  const mem = (await read("/proc/meminfo")).find((l) => l.startsWith("MemTotal:"));
  const memKiB = Number(/(\d+) kB/.exec(mem ?? "")?.[1] ?? 0);
  return {
    nproc: navigator.hardwareConcurrency,
    cpuModel: model?.split(":")[1]?.trim() ?? "unknown",
    memoryGiB: Math.round((memKiB / 1024 / 1024) * 10) / 10,
    kernel: Deno.osRelease(),
    loadAverageAtStart: Deno.loadavg(),
  };
}

/**
 * Scenario S's verdict in one line: the rate with a cid on every message over the rate without
 * (both CURVE), as the table's median ratio and run by run (the sides run interleaved, so each run
 * pair met the same load), and the server's CPU time per message on each side, which other work
 * on the machine disturbs less than the rate. Undefined when S did not run on both sides.
 *
 * @example
 * ```ts
 * import { sustainedSummary } from "./report.ts";
 * declare const results: import("./context.ts").ScenarioResult[];
 * const line = sustainedSummary(results);
 * if (line) console.log(line);
 * ```
 */
export function sustainedSummary(results: ScenarioResult[]): string | undefined {
  const s = results.find((r) => r.id === "S");
  if (!s || s.chatz.length === 0 || s.baseline.length === 0) return undefined;
  const rateOf = (run: ScenarioResult["chatz"][0]) => run.metrics.perSecond;
  const cpuPerMessage = (runs: ScenarioResult["chatz"]) => {
    const values = runs.flatMap((run) => {
      const cores = (run.detail.cpuCores as CpuUse | undefined)?.target;
      return cores !== undefined && rateOf(run) > 0 ? [(cores * 1e6) / rateOf(run)] : [];
    });
    return values.length > 0 ? spread(values).median : undefined;
  };
  const ratio = spread(s.chatz.map(rateOf)).median / spread(s.baseline.map(rateOf)).median;
  const pairs = s.chatz.flatMap((run, i) =>
    s.baseline[i] ? [(rateOf(run) / rateOf(s.baseline[i])).toFixed(2)] : []
  );
  const withCid = cpuPerMessage(s.chatz);
  const without = cpuPerMessage(s.baseline);
  const cpu = withCid !== undefined && without !== undefined
    ? `; server CPU per message ${withCid.toFixed(2)} µs with cid, ${
      without.toFixed(2)
    } µs without (${(without / withCid).toFixed(2)}×)`
    : "";
  return `S, a cid on every message ÷ the same without (both CURVE): rate ${ratio.toFixed(3)}× ` +
    `(target ≥ 0.90×: ${ratio >= 0.9 ? "met" : "not met"}); run by run ${pairs.join(", ")}${cpu}`;
}
