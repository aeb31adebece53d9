// A load-generator worker: owns up to two dozen peers and runs the orchestrator's commands on them.
// Waits are event-driven (checked when a peer receives) with deadlines; only runs sleep, by design.

import { monotonicNs } from "./clock.ts";
import type {
  LoadAnswer,
  LoadCommand,
  LoadRequest,
  LoadSettings,
  PeerReport,
  PeerSpec,
} from "./load_protocol.ts";
import { Peer } from "./peer.ts";

/**
 * How often peers get their housekeeping turn: pings, login re-dials, logins after a restart.
 * Short, because a restart that comes back within a tick hides the dropped connection of a client
 * that missed its `bye`.
 */
const TICK_MS = 50;
/** Deadline of each setup command (`/group create`, `/group join`). */
const COMMAND_TIMEOUT_MS = 30_000;

const port = self as unknown as {
  postMessage(message: LoadAnswer): void;
  onmessage: ((event: { data: LoadRequest }) => void) | null;
  close(): void;
};

interface Condition {
  holds: () => boolean;
  resolve: () => void;
}

let peers: Peer[] = [];
let conditions: Condition[] = [];
let ticker: ReturnType<typeof setInterval> | undefined;

/** Re-checks what commands wait for; peers call it after every frame. */
function poke(): void {
  if (conditions.length === 0) return;
  conditions = conditions.filter((c) => {
    if (!c.holds()) return true;
    c.resolve();
    return false;
  });
}

/** Resolves true once `holds()` is true, or false at the deadline. */
function waitUntil(holds: () => boolean, timeoutMs: number): Promise<boolean> {
  if (holds()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const condition: Condition = {
      holds,
      resolve: () => {
        clearTimeout(timer);
        resolve(true);
      },
    };
    const timer = setTimeout(() => {
      conditions = conditions.filter((c) => c !== condition);
      resolve(false);
    }, timeoutMs);
    conditions.push(condition);
  });
}

/**
 * Sleeps until a moment of the run's schedule, the one place this benchmark waits on time. Timers
 * count whole milliseconds and may fire a little early against CLOCK_MONOTONIC: sleep again then.
 */
async function sleepUntil(ns: bigint): Promise<void> {
  for (let i = 0; i < 10; i++) {
    const ms = Number(ns - monotonicNs()) / 1e6;
    if (ms <= 0) return;
    await new Promise((resolve) => setTimeout(resolve, Math.ceil(ms)));
  }
}

function setup(settings: LoadSettings, specs: PeerSpec[]): Promise<void> {
  peers = specs.map((spec) => new Peer(spec, settings, poke));
  startTicker();
  for (const peer of peers) peer.login();
  return waitUntil(() => peers.every((p) => p.loggedIn), settings.loginTimeoutMs).then(
    async (ok) => {
      if (!ok) {
        const missing = peers.filter((p) => !p.loggedIn).map((p) => `${p.spec.name} (${p.state})`);
        const detail = peers.flatMap((p) => p.report().errors).slice(0, 3).join("; ");
        throw new Error(
          `Cannot log in ${missing.length} peers (${
            missing.slice(0, 3).join(", ")
          }, …) within ${settings.loginTimeoutMs} ms${detail ? `: ${detail}` : ""}`,
        );
      }
      for (const peer of peers) await peer.runCommands(COMMAND_TIMEOUT_MS);
    },
  );
}

function startTicker(): void {
  ticker ??= setInterval(() => {
    const now = Date.now();
    for (const peer of peers) peer.tick(now);
    poke();
  }, TICK_MS);
}

/** Registers accounts a few at a time, each on a short-lived socket; returns their reports. */
async function register(command: Extract<LoadCommand, { op: "register" }>): Promise<PeerReport[]> {
  const { settings, names, password } = command;
  const reports: PeerReport[] = [];
  let next = 0;
  startTicker();
  const lane = async () => {
    while (next < names.length) {
      const peer = new Peer({ name: names[next++], role: "idle", password }, settings, poke);
      peers.push(peer);
      try {
        peer.login();
        if (!(await waitUntil(() => peer.loggedIn, settings.loginTimeoutMs))) {
          throw new Error(
            `Cannot register "${peer.spec.name}" in ${settings.loginTimeoutMs} ms: ${peer.state}`,
          );
        }
        reports.push(peer.report());
      } finally {
        peers = peers.filter((p) => p !== peer);
        await peer.close();
      }
    }
  };
  await Promise.all(Array.from({ length: command.concurrency }, lane));
  return reports;
}

async function run(command: Extract<LoadCommand, { op: "run" }>): Promise<void> {
  const start = BigInt(command.startNs);
  const windowStart = BigInt(command.windowStartNs);
  const windowEnd = BigInt(command.windowEndNs);
  for (const peer of peers) {
    peer.resetCounts();
    peer.scheduleWindow(windowStart, windowEnd);
  }
  await sleepUntil(start);
  for (const peer of peers) {
    peer.startStreaming();
    if (command.rate !== undefined) peer.startPacing(start, command.rate);
  }
  await sleepUntil(windowStart);
  for (const peer of peers) peer.checkWindow();
  await sleepUntil(windowEnd);
  for (const peer of peers) peer.checkWindow();
  await waitUntil(() => peers.every((p) => p.settled), command.settleMs);
}

async function handle(command: LoadCommand): Promise<PeerReport[]> {
  switch (command.op) {
    case "setup":
      await setup(command.settings, command.peers);
      break;
    case "register":
      return await register(command);
    case "run":
      await run(command);
      break;
    case "expect": {
      const expected = peers.filter((p) => p.spec.name in command.counts);
      await waitUntil(
        () => expected.every((p) => p.received >= command.counts[p.spec.name]),
        command.timeoutMs,
      );
      break;
    }
    case "history":
      await Promise.all(
        peers.filter((p) => p.spec.role === "history").map((p) =>
          p.history(command.args, command.warmup, command.count, command.timeoutMs)
        ),
      );
      break;
    case "awaitLogins":
      await waitUntil(() => peers.every((p) => p.logins >= command.logins), command.timeoutMs);
      break;
    case "restarted":
      for (const peer of peers) peer.serverRestarted();
      break;
    case "close":
      clearInterval(ticker);
      await Promise.all(peers.map((p) => p.close()));
      break;
  }
  return peers.map((p) => p.report());
}

port.onmessage = async ({ data }) => {
  let answer: LoadAnswer;
  try {
    answer = { id: data.id, ok: true, peers: await handle(data.command) };
  } catch (error) {
    answer = { id: data.id, ok: false, error: (error as Error).message };
  }
  port.postMessage(answer);
  if (data.command.op === "close") port.close();
};
