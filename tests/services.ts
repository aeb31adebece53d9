// Throwaway PostgreSQL and nats-server instances for tests: real servers from Debian's packages on
// free loopback ports, in temporary folders, run detached (no handle for Deno's test sanitizers).

import { bindable, stablePort } from "./ports.ts";

/** How long a server may take to come up or go down on a loaded machine before the test gives up. */
const START_MS = 60_000;

/** How often a wait for a server looks again: its log file and its pid are all there is to watch. */
const POLL_MS = 25;

/** Most attempts at a free port: another process may take the one we found before the server binds it. */
const PORT_ATTEMPTS = 5;

/** Where Debian's `postgresql` package puts the server programs, newest version first. */
const POSTGRES_ROOT = "/usr/lib/postgresql";

/** Where Debian's `nats-server` package puts the program. */
const NATS_CANDIDATES = [
  "/usr/sbin/nats-server",
  "/usr/bin/nats-server",
  "/usr/local/bin/nats-server",
];

/** The superuser `initdb` creates; tests connect as it. */
export const POSTGRES_USER = "chatz";

/** A throwaway PostgreSQL server. */
export interface Postgres {
  port: number;
  /** A connection URL for `database` (default `postgres`). */
  url(database?: string): string;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (fast shutdown, or immediate with `crash`: no checkpoint, as a crash) and keeps its data. */
  stop(options?: { crash?: boolean }): Promise<void>;
  /** Starts it again on the same port with the same data. */
  start(): Promise<void>;
  /** Stops it and removes its data. */
  [Symbol.asyncDispose](): Promise<void>;
  /** The same, synchronously: for an `unload` listener, when a filtered run skipped the disposal. */
  [Symbol.dispose](): void;
}

/** A throwaway nats-server. */
export interface Nats {
  port: number;
  url: string;
  /** Stops the server (SIGTERM, or SIGKILL with `crash`). */
  stop(options?: { crash?: boolean }): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Resolves once `check` holds, looking every POLL_MS; rejects after `ms`. */
async function waitUntil(check: () => boolean | Promise<boolean>, what: string, ms = START_MS) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** The folder of Debian's PostgreSQL programs (newest installed version); CHATZ_PG_BIN overrides. */
export function postgresBinDir(): string {
  const override = Deno.env.get("CHATZ_PG_BIN");
  if (override) return override;
  let versions: number[] = [];
  try {
    versions = [...Deno.readDirSync(POSTGRES_ROOT)].map((e) => Number(e.name))
      .filter((v) => Number.isInteger(v)).sort((a, b) => b - a);
  } catch {
    // none: reported below
  }
  const found = versions.map((v) => `${POSTGRES_ROOT}/${v}/bin`).find((dir) =>
    exists(`${dir}/initdb`)
  );
  if (!found) {
    throw new Error(
      `Cannot start PostgreSQL: no ${POSTGRES_ROOT}/*/bin/initdb (apt-get install postgresql)`,
    );
  }
  return found;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The user a database server runs as: PostgreSQL refuses root, so root runs it as `nobody`. */
function serverUser(): { uid?: number; gid?: number } {
  if (Deno.uid() !== 0) return {};
  const line = Deno.readTextFileSync("/etc/passwd").split("\n")
    .find((l) => l.startsWith("nobody:"));
  if (!line) throw new Error('Cannot start PostgreSQL as root: no user "nobody" to run it as');
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

/** Runs a program to its end; throws with its output when it fails. */
async function run(program: string, args: string[], user: { uid?: number; gid?: number } = {}) {
  const out = await new Deno.Command(program, { args, ...user, stdin: "null" }).output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    throw new Error(`Cannot run ${program} ${args.join(" ")}: ${text.trim()}`);
  }
}

/** Most tries at restarting on the same port, a moment apart: the port may take a moment to free. */
const RESTART_ATTEMPTS = 20;

/** Runs `start` again on its old port, retrying a bounded number of times while the port is busy. */
async function restartOn(port: number, start: (port: number) => Promise<void>): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      return await start(port);
    } catch (error) {
      if (attempt >= RESTART_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS * 4));
    }
  }
}

/** Tries `start` on free ports until one works. */
async function onFreePort(start: (port: number) => Promise<void>): Promise<number> {
  for (let attempt = 1;; attempt++) {
    const port = stablePort();
    try {
      await start(port);
      return port;
    } catch (error) {
      if (attempt >= PORT_ATTEMPTS) throw error;
    }
  }
}

/**
 * Starts a PostgreSQL server from Debian's package: `initdb` into a temporary folder as a non-root
 * user, listening on a free loopback port with its unix socket inside that folder.
 */
export async function startPostgres(): Promise<Postgres> {
  const bin = postgresBinDir();
  const user = serverUser();
  const root = await Deno.makeTempDir({ prefix: "chatz-pg-" });
  const data = `${root}/data`;
  if (user.uid !== undefined) await Deno.chown(root, user.uid, user.gid!);
  const ctl = (...args: string[]) => run(`${bin}/pg_ctl`, ["-D", data, ...args], user);
  let port = 0;
  const launch = (p: number) =>
    ctl(
      "start",
      "-w",
      "-t",
      String(START_MS / 1000),
      "-l",
      `${root}/log`,
      "-o",
      [
        `-h 127.0.0.1 -p ${p} -k ${root}`,
        // A test server: a power cut may lose its data; a killed postgres still loses nothing.
        "-c fsync=off -c max_connections=200",
      ].join(" "),
    );
  try {
    await run(`${bin}/initdb`, [
      "-D",
      data,
      "-U",
      POSTGRES_USER,
      "--auth=trust",
      "--no-sync",
      "-E",
      "UTF8",
      "--locale=C",
    ], user);
    port = await onFreePort(launch);
  } catch (error) {
    await Deno.remove(root, { recursive: true });
    throw error;
  }
  const url = (database = "postgres") =>
    `postgres://${POSTGRES_USER}@127.0.0.1:${port}/${database}`;
  const stop = async ({ crash = false } = {}) => {
    if (exists(`${data}/postmaster.pid`)) {
      await ctl("stop", "-w", "-t", String(START_MS / 1000), "-m", crash ? "immediate" : "fast");
    }
  };
  return {
    port,
    url,
    async createDatabase(name) {
      await run(`${bin}/psql`, [
        "-h",
        "127.0.0.1",
        "-p",
        String(port),
        "-U",
        POSTGRES_USER,
        "-d",
        "postgres",
        "-v",
        "ON_ERROR_STOP=1",
        "-c",
        `CREATE DATABASE "${name}"`,
      ]);
      return url(name);
    },
    stop,
    start: () => restartOn(port, launch),
    async [Symbol.asyncDispose]() {
      try {
        await stop();
      } finally {
        await Deno.remove(root, { recursive: true });
      }
    },
    [Symbol.dispose]() {
      if (!exists(root)) return;
      if (exists(`${data}/postmaster.pid`)) {
        new Deno.Command(`${bin}/pg_ctl`, { args: ["-D", data, "stop", "-m", "fast"], ...user })
          .outputSync();
      }
      Deno.removeSync(root, { recursive: true });
    },
  };
}

/** The nats-server program: on PATH or where Debian's package puts it. */
function natsProgram(): string {
  const onPath = (Deno.env.get("PATH") ?? "").split(":").map((d) => `${d}/nats-server`);
  const found = [...onPath, ...NATS_CANDIDATES].find(exists);
  if (!found) {
    throw new Error("Cannot start nats-server: not installed (apt-get install nats-server)");
  }
  return found;
}

/** Starts a nats-server on a free loopback port, detached, logging into a temporary folder. */
export async function startNats(): Promise<Nats> {
  const program = natsProgram();
  const root = await Deno.makeTempDir({ prefix: "chatz-nats-" });
  let pid = 0;
  let port = 0;
  let runs = 0;
  const launch = async (p: number) => {
    const log = `${root}/log.${++runs}`;
    const pidFile = `${root}/pid.${runs}`;
    // `setsid … &`: the server outlives the shell and belongs to no test's resources.
    await run("sh", [
      "-c",
      `setsid ${program} -a 127.0.0.1 -p ${p} -l ${log} -P ${pidFile} </dev/null >/dev/null 2>&1 &`,
    ]);
    const text = () => exists(log) ? Deno.readTextFileSync(log) : "";
    await waitUntil(() => /Server is ready|FTL|Error listening/.test(text()), "nats-server");
    if (!/Server is ready/.test(text())) throw new Error(`Cannot start nats-server: ${text()}`);
    // nats-server writes its pid file after it says it is ready.
    const pidText = () => exists(pidFile) ? Deno.readTextFileSync(pidFile).trim() : "";
    await waitUntil(() => /^\d+$/.test(pidText()), "nats-server's pid file");
    pid = Number(pidText());
  };
  port = await onFreePort(launch);
  const stop = async ({ crash = false } = {}) => {
    if (!pid) return;
    try {
      Deno.kill(pid, crash ? "SIGKILL" : "SIGTERM");
    } catch {
      // already gone
    }
    pid = 0;
    await waitUntil(() => bindable(port), "nats-server to stop");
  };
  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    stop,
    start: () => restartOn(port, launch),
    async [Symbol.asyncDispose]() {
      try {
        await stop();
      } finally {
        if (exists(root)) await Deno.remove(root, { recursive: true });
      }
    },
  };
}

/** A TCP relay to a server that a test can hold up: what either side sends waits while it is held. */
export interface HeldLink {
  /** `nats://127.0.0.1:<port>` of the relay, for a client that should connect through it. */
  url: string;
  /** From now on nothing is passed on until `release` (it waits in the relay, in order). */
  hold(): void;
  /** Passes on everything that waited, and what comes next. */
  release(): void;
  /** Closes the relay and its connections. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts a relay on a free loopback port to the server on `port`: one node's bus connection goes
 * through it, so a test can delay what that node publishes and receives (a slow network, not a
 * fake server: both ends are the real programs).
 */
export function startHeldLink(port: number): HeldLink {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  let held: PromiseWithResolvers<void> | undefined;
  const pump = async (from: Deno.Conn, to: Deno.Conn) => {
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await from.read(buffer);
        if (n === null) break;
        while (held) await held.promise;
        let written = 0;
        while (written < n) written += await to.write(buffer.subarray(written, n));
      }
    } catch {
      // either side closed
    }
    for (const conn of [from, to]) {
      try {
        conn.close();
      } catch {
        // closed already
      }
    }
  };
  const accepting = (async () => {
    for await (const inbound of listener) {
      const outbound = await Deno.connect({ hostname: "127.0.0.1", port });
      conns.push(inbound, outbound);
      pump(inbound, outbound);
      pump(outbound, inbound);
    }
  })().catch(() => {});
  return {
    url: `nats://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    hold() {
      held ??= Promise.withResolvers<void>();
    },
    release() {
      held?.resolve();
      held = undefined;
    },
    async [Symbol.asyncDispose]() {
      this.release();
      listener.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // closed already
        }
      }
      await accepting;
    },
  };
}
