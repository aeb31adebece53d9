// Throwaway PostgreSQL and nats-server instances for tests: real servers from Debian's packages on
// free loopback ports, in temporary folders, stopped and removed by the caller in `finally`.

import { readLines } from "../transport/lines.ts";
import { Recorder } from "./harness.ts";

/** How long a server may take to come up on a loaded machine before the test gives up. */
const START_MS = 60_000;

/** Most attempts at a free port: another process may take the one we found before we bind it. */
const PORT_ATTEMPTS = 5;

/** Where Debian's `postgresql` package puts the server programs, newest version first. */
const POSTGRES_ROOT = "/usr/lib/postgresql";

/** Where Debian's `nats-server` package puts the program, when it is not on PATH. */
const NATS_CANDIDATES = ["nats-server", "/usr/sbin/nats-server", "/usr/bin/nats-server"];

/** The superuser `initdb` creates; tests connect as it. */
export const POSTGRES_USER = "chatz";

/** A server process the test controls. */
interface Child {
  child: Deno.ChildProcess;
  log: Recorder<string>;
  status: Promise<Deno.CommandStatus>;
}

/** A throwaway PostgreSQL server. */
export interface Postgres {
  port: number;
  /** A connection URL for `database` (default `postgres`). */
  url(database?: string): string;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (fast shutdown, or SIGKILL with `crash`) and keeps its data. */
  stop(options?: { crash?: boolean }): Promise<void>;
  /** Starts it again on the same port with the same data. */
  start(): Promise<void>;
  /** Stops it and removes its data. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** A throwaway nats-server. */
export interface Nats {
  port: number;
  url: string;
  stop(options?: { crash?: boolean }): Promise<void>;
  start(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A loopback port nothing listens on right now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
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
    // reported below
  }
  for (const v of versions) {
    const dir = `${POSTGRES_ROOT}/${v}/bin`;
    try {
      Deno.statSync(`${dir}/initdb`);
      return dir;
    } catch {
      // try the next version
    }
  }
  throw new Error(
    `Cannot start PostgreSQL: no ${POSTGRES_ROOT}/*/bin/initdb (apt-get install postgresql)`,
  );
}

/** The user a database server runs as: PostgreSQL refuses root, so root runs it as `nobody`. */
function serverUser(): { uid?: number; gid?: number } {
  if (Deno.uid() !== 0) return {};
  const line = Deno.readTextFileSync("/etc/passwd").split("\n").find((l) =>
    l.startsWith("nobody:")
  );
  if (!line) throw new Error('Cannot start PostgreSQL as root: no user "nobody" to run it as');
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

/** Spawns a server and collects its stderr and stdout lines. */
function spawn(program: string, args: string[], user: { uid?: number; gid?: number }): Child {
  const child = new Deno.Command(program, {
    args,
    ...user,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const log = new Recorder<string>();
  const pumps = [child.stdout, child.stderr].map(async (s) => {
    for await (const line of readLines(s)) log.push(line);
  });
  const status = child.status.then(async (s) => {
    await Promise.allSettled(pumps);
    log.push(`(exited with ${s.code})`);
    return s;
  });
  return { child, log, status };
}

/** Waits for `ready` in a server's log; fails early with the log when it exits first. */
async function awaitReady(server: Child, ready: RegExp, what: string): Promise<void> {
  const line = await server.log.waitFor(
    (l) => ready.test(l) || l.startsWith("(exited"),
    what,
    START_MS,
  );
  if (line.startsWith("(exited")) {
    throw new Error(`Cannot start ${what}:\n${server.log.items.slice(-20).join("\n")}`);
  }
}

/** Stops a server: `signal` politely, SIGKILL with `crash`; waits for it to exit. */
async function halt(server: Child | undefined, signal: Deno.Signal, crash = false): Promise<void> {
  if (!server) return;
  try {
    server.child.kill(crash ? "SIGKILL" : signal);
  } catch {
    // already gone
  }
  await server.status;
}

async function run(program: string, args: string[], user: { uid?: number; gid?: number }) {
  const out = await new Deno.Command(program, { args, ...user, stdin: "null" }).output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    throw new Error(`Cannot run ${program} ${args.join(" ")}: ${text.trim()}`);
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
  let server: Child | undefined;
  let port = 0;
  const launch = async () => {
    server = spawn(`${bin}/postgres`, [
      "-D",
      data,
      "-h",
      "127.0.0.1",
      "-p",
      String(port),
      "-k",
      root,
      // A test server: losing data at a power cut is fine; a killed postgres loses nothing still.
      "-c",
      "fsync=off",
      "-c",
      "max_connections=200",
    ], user);
    await awaitReady(server, /ready to accept connections/, "PostgreSQL");
  };
  for (let attempt = 1;; attempt++) {
    port = freePort();
    try {
      await launch();
      break;
    } catch (e) {
      await halt(server, "SIGINT");
      if (attempt >= PORT_ATTEMPTS) {
        await Deno.remove(root, { recursive: true });
        throw e;
      }
    }
  }
  const url = (database = "postgres") =>
    `postgres://${POSTGRES_USER}@127.0.0.1:${port}/${database}`;
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
      ], {});
      return url(name);
    },
    stop: ({ crash = false } = {}) => halt(server, "SIGINT", crash),
    start: launch,
    async [Symbol.asyncDispose]() {
      await halt(server, "SIGINT");
      await Deno.remove(root, { recursive: true });
    },
  };
}

/** The nats-server program: on PATH or where Debian's package puts it. */
function natsProgram(): string {
  for (const candidate of NATS_CANDIDATES) {
    try {
      if (candidate.includes("/")) Deno.statSync(candidate);
      else {
        const which = new Deno.Command("sh", {
          args: ["-c", `command -v ${candidate}`],
          stdout: "piped",
        }).outputSync();
        if (!which.success) continue;
      }
      return candidate;
    } catch {
      // try the next place
    }
  }
  throw new Error("Cannot start nats-server: not installed (apt-get install nats-server)");
}

/** Starts a nats-server on a free loopback port. */
export async function startNats(): Promise<Nats> {
  const program = natsProgram();
  let server: Child | undefined;
  let port = 0;
  const launch = async () => {
    server = spawn(program, ["-a", "127.0.0.1", "-p", String(port)], {});
    await awaitReady(server, /Server is ready/, "nats-server");
  };
  for (let attempt = 1;; attempt++) {
    port = freePort();
    try {
      await launch();
      break;
    } catch (e) {
      await halt(server, "SIGTERM");
      if (attempt >= PORT_ATTEMPTS) throw e;
    }
  }
  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    stop: ({ crash = false } = {}) => halt(server, "SIGTERM", crash),
    start: launch,
    [Symbol.asyncDispose]: () => halt(server, "SIGTERM"),
  };
}
