// `deno task bench [--quick] [--only A,C]`: issue #5's benchmark of chatz, encrypted (its default)
// and with --no-curve, next to a bare forwarding router on loopback; a table and a JSON file.

import { join } from "node:path";
import {
  type Bench,
  FULL_PLAN,
  QUICK_PLAN,
  removeDir,
  type Run,
  type ScenarioResult,
  tempDir,
} from "./context.ts";
import { clusterRun } from "./cluster.ts";
import { historyRun } from "./history.ts";
import type { Dialect } from "./load_protocol.ts";
import type { CpuUse } from "./proc_stats.ts";
import { choosePinning, type Encryption, policyLimitArgs, ProcessSet, ROOT } from "./procs.ts";
import { formatTable, machineInfo, sustainedSummary, tableRows } from "./report.ts";
import { seedPublicHistory } from "./seed.ts";
import { buildTemplate, hashMemory, idleMemory, reconnectStorm } from "./sessions.ts";
import { directRelay, groupFanOut, latency, manyPairs, sustainedRelay } from "./traffic.ts";

const USAGE = `Usage: deno task bench [--quick] [--only A,B,...]

  --quick      every scenario briefly (1 run of 1 s; E and F with 200 clients; G with 20,000
               messages); asserts nothing about speed
  --only LIST  run only these scenarios (A–K, S), for example --only A,C
  --verbose    also print each step of each run`;

/** The chatz sides of every scenario: as it runs by default (CURVE), and with `--no-curve`. */
const CHATZ_SIDES = [["chatz", "curve"], ["plaintext", "plaintext"]] as const satisfies readonly (
  readonly ["chatz" | "plaintext", Encryption]
)[];
/** Every side of a scenario's result. */
const SIDES = ["chatz", "plaintext", "baseline"] as const;

/** Accounts scenarios A–D need: fifty pairs, or a sender and a hundred members. */
const TRAFFIC_ACCOUNTS = 101;

interface Scenario {
  id: string;
  title: string;
  chatz?: (bench: Bench) => Promise<Run>;
  baseline?: (bench: Bench) => Promise<Run>;
  /** One run, chatz with CURVE only: scenarios bound by password hashing, minutes per run. */
  once?: boolean;
}

const both = (fn: (bench: Bench, dialect: Dialect) => Promise<Run>) => ({
  chatz: (bench: Bench) => fn(bench, "chatz"),
  baseline: (bench: Bench) => fn(bench, "baseline"),
});

const SCENARIOS: Scenario[] = [
  { id: "A", title: "direct relay, 1 sender → 1 receiver", ...both(directRelay) },
  { id: "B", title: "50 sender/receiver pairs", ...both(manyPairs) },
  { id: "C", title: "group fan-out to 100 members", ...both(groupFanOut) },
  { id: "D", title: "latency at a fixed offered rate", ...both(latency) },
  { id: "E", title: "memory per idle session", ...both(idleMemory) },
  { id: "F", title: "reconnect storm", chatz: reconnectStorm },
  { id: "G", title: "history round trips" },
  {
    id: "S",
    title: "sustained relay, a cid on every message (baseline column: the same without cid)",
    chatz: (bench) => sustainedRelay(bench, true),
    baseline: (bench) => {
      bench.encryption = "curve"; // the comparison is chatz as it runs by default, without cid
      return sustainedRelay(bench, false);
    },
  },
  {
    id: "K",
    title: "cluster: two nodes, relay and group fan-out across them, failover time",
    chatz: clusterRun,
  },
  {
    id: "H",
    title: "memory after password registrations and logins",
    chatz: hashMemory,
    once: true,
  },
  {
    id: "I",
    title: "memory per idle session, password logins",
    chatz: (bench) => idleMemory(bench, "chatz", true),
    once: true,
  },
];

function parseArgs(args: string[]): { quick: boolean; verbose: boolean; only: string[] } {
  let quick = false;
  let verbose = false;
  let only = SCENARIOS.map((s) => s.id);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--quick") quick = true;
    else if (arg === "--verbose") verbose = true;
    else if (arg === "--only" || arg.startsWith("--only=")) {
      const list = arg === "--only" ? args[++i] ?? "" : arg.slice("--only=".length);
      only = list.split(",").map((s) => s.trim().toUpperCase()).filter(Boolean);
      const unknown = only.filter((id) => !SCENARIOS.some((s) => s.id === id));
      if (only.length === 0 || unknown.length > 0) {
        throw new Error(
          `Cannot run scenarios "${list}": choose from ${SCENARIOS.map((s) => s.id).join(",")}`,
        );
      }
    } else if (arg === "--help" || arg === "-h") {
      console.log(USAGE);
      Deno.exit(0);
    } else {
      throw new Error(`Cannot run the benchmark: unknown argument "${arg}"\n${USAGE}`);
    }
  }
  return { quick, verbose, only };
}

function describe(run: Run): string {
  const metrics = Object.entries(run.metrics)
    .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(2)}`);
  const cpu = run.detail.cpuCores as CpuUse | undefined;
  if (cpu) {
    metrics.push(
      `cpu(cores) target=${cpu.target.toFixed(2)} load=${cpu.load.toFixed(2)} other=${
        cpu.other.toFixed(2)
      }`,
    );
  }
  const loadMicros = run.detail.loadMicrosPerMessage;
  if (typeof loadMicros === "number") metrics.push(`load=${loadMicros.toFixed(2)} µs/msg`);
  if (run.problems.length > 0) metrics.push(`PROBLEMS: ${run.problems.join("; ")}`);
  if (run.warnings?.length) metrics.push(`warnings: ${run.warnings.join("; ")}`);
  return metrics.join(" ");
}

async function runScenario(bench: Bench, scenario: Scenario): Promise<ScenarioResult> {
  const result: ScenarioResult = {
    id: scenario.id,
    title: scenario.title,
    chatz: [],
    plaintext: [],
    baseline: [],
    detail: {},
  };
  const { runs } = bench.plan;
  try {
    if (scenario.id === "G") {
      const dir = await tempDir(bench, "chatz-bench-history-");
      try {
        const seed = seedPublicHistory(dir, bench.plan.historyMessages);
        result.detail.seed = seed;
        bench.log(`G seeded ${seed.messages} messages in ${seed.seconds.toFixed(2)} s`);
        for (let i = 0; i < runs; i++) {
          for (const [side, encryption] of CHATZ_SIDES) {
            bench.encryption = encryption;
            const run = await historyRun(bench, dir);
            if (i === 0 && side === "chatz") run.metrics.seedPerSecond = seed.perSecond;
            result[side].push(run);
            bench.log(`G ${side} run ${i + 1}/${runs}: ${describe(run)}`);
          }
        }
      } finally {
        await removeDir(bench, dir);
      }
      return result;
    }
    // Interleaved: each run of each side meets the same machine load as the others' runs.
    for (let i = 0; i < (scenario.once ? 1 : runs); i++) {
      for (const [side, encryption] of [...CHATZ_SIDES, ["baseline", "plaintext"] as const]) {
        if (scenario.once && side !== "chatz") continue;
        const fn = side === "baseline" ? scenario.baseline : scenario.chatz;
        if (!fn) continue;
        bench.encryption = encryption;
        const run = await fn(bench);
        result[side].push(run);
        bench.log(
          `${scenario.id} ${side} run ${i + 1}/${scenario.once ? 1 : runs}: ${describe(run)}`,
        );
      }
    }
  } catch (error) {
    result.error = (error as Error).message;
    bench.log(`${scenario.id} failed: ${(error as Error).stack ?? error}`);
  }
  return result;
}

/** The commit measured and the files that differ from it: the working tree is what runs. */
async function gitState(): Promise<{ commit: string; changed: string[] }> {
  const git = async (...args: string[]) => {
    const out = await new Deno.Command("git", { args, cwd: ROOT, stdout: "piped", stderr: "null" })
      .output().catch(() => undefined);
    return out?.success ? new TextDecoder().decode(out.stdout).trimEnd() : "";
  };
  const status = await git("status", "--porcelain", "--untracked-files=no");
  return {
    commit: await git("rev-parse", "HEAD"),
    changed: status ? status.split("\n").map((l) => l.replace(/^\s*\S+\s+/, "")) : [],
  };
}

async function main(): Promise<number> {
  const { quick, verbose, only } = parseArgs(Deno.args);
  const plan = quick ? QUICK_PLAN : FULL_PLAN;
  const startedAt = new Date();
  const machine = await machineInfo();
  const git = await gitState(); // at the start: the code the servers run is read when they start
  const started = performance.now();
  const log = (line: string) =>
    console.error(`[${((performance.now() - started) / 1000).toFixed(1)} s] ${line}`);
  const bench: Bench = {
    plan,
    procs: new ProcessSet(),
    pinning: await choosePinning(),
    serverArgs: await policyLimitArgs(),
    encryption: "curve",
    tempDirs: new Set(),
    log,
    debug: verbose ? log : () => {},
  };
  const cleanup = async () => {
    await bench.procs.killAll();
    for (const dir of [...bench.tempDirs]) await removeDir(bench, dir);
  };
  const interrupt = () => cleanup().finally(() => Deno.exit(130));
  Deno.addSignalListener("SIGINT", interrupt);
  Deno.addSignalListener("SIGTERM", interrupt);

  const selected = SCENARIOS.filter((s) => only.includes(s.id));
  const results: ScenarioResult[] = [];
  let templateError: string | undefined;
  bench.log(
    `chatz bench${quick ? " --quick" : ""}: ${selected.map((s) => s.id).join(",")}; pinning ${
      bench.pinning.server === undefined
        ? "off"
        : `server core ${bench.pinning.server}, load core ${bench.pinning.load}`
    }`,
  );
  if (bench.serverArgs.length > 0) {
    bench.log(
      `chatz serve has policy limits; the benchmark switches them off: ${
        bench.serverArgs.join(" ")
      }`,
    );
  }
  try {
    // G seeds its own history and K registers through its own cluster: neither needs the template.
    if (selected.some((s) => s.id !== "G" && s.id !== "K")) {
      // As many as the selected scenarios log in: registering is scrypt-bound, minutes for E's.
      const wants = (ids: string) => selected.some((s) => ids.includes(s.id));
      const accounts = Math.max(
        TRAFFIC_ACCOUNTS,
        wants("EF") ? plan.clients : 0,
        wants("I") ? plan.passwordClients : 0,
      );
      try {
        bench.template = await buildTemplate(bench, accounts);
        bench.log(
          `registered ${accounts} accounts in ${
            bench.template.seconds.toFixed(1)
          } s (unpinned, setup)`,
        );
      } catch (error) {
        templateError = (error as Error).message;
        bench.log(`Cannot register the accounts: ${templateError}`);
      }
    }
    for (const scenario of selected) {
      if (templateError && scenario.id !== "G" && scenario.id !== "K") {
        results.push({
          id: scenario.id,
          title: scenario.title,
          chatz: [],
          plaintext: [],
          baseline: [],
          error: templateError,
          detail: {},
        });
        continue;
      }
      results.push(await runScenario(bench, scenario));
    }
  } finally {
    await cleanup();
    Deno.removeSignalListener("SIGINT", interrupt);
    Deno.removeSignalListener("SIGTERM", interrupt);
  }

  const seconds = (performance.now() - started) / 1000;
  const rows = tableRows(results);
  console.log(formatTable(rows));
  const sustained = sustainedSummary(results);
  if (sustained) console.log(sustained);
  const problems = results.flatMap((r) => [
    ...(r.error ? [`${r.id}: error: ${r.error}`] : []),
    ...SIDES.flatMap((side) =>
      r[side].flatMap((run, i) => run.problems.map((p) => `${r.id} ${side} run ${i + 1}: ${p}`))
    ),
  ]);
  const warnings = results.flatMap((r) =>
    SIDES.flatMap((side) =>
      r[side].flatMap((run, i) =>
        (run.warnings ?? []).map((w) => `${r.id} ${side} run ${i + 1}: ${w}`)
      )
    )
  );
  for (const problem of problems) console.log(`problem: ${problem}`);
  for (const warning of warnings) console.log(`warning: ${warning}`);
  console.log(
    `finished in ${seconds.toFixed(1)} s${quick ? " (--quick: figures are not meaningful)" : ""}`,
  );

  const file = join(
    ROOT,
    "bench",
    "results",
    `${startedAt.toISOString().replace(/:/g, "-").replace(/\.\d+Z$/, "Z")}.json`,
  );
  await Deno.mkdir(join(ROOT, "bench", "results"), { recursive: true });
  await Deno.writeTextFile(
    file,
    JSON.stringify(
      {
        command: ["deno", "task", "bench", ...Deno.args].join(" "),
        execPath: Deno.execPath(),
        git,
        startedAt: startedAt.toISOString(),
        seconds,
        deno: Deno.version,
        machine,
        pinning: bench.pinning,
        serverArgs: bench.serverArgs,
        plan,
        template: bench.template && {
          accounts: bench.template.accounts,
          registrationSeconds: bench.template.seconds,
          registrationsPerSecond: bench.template.accounts / bench.template.seconds,
        },
        table: rows,
        scenarios: results,
        problems,
        warnings,
      },
      null,
      2,
    ) + "\n",
  );
  console.log(`results: ${file}`);
  return problems.length > 0 ? 1 : 0;
}

try {
  Deno.exit(await main());
} catch (error) {
  console.error(`chatz bench: ${(error as Error).message}`);
  Deno.exit(2);
}
