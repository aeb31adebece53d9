// The chatz command line: wires the `serve`, `connect` and `admin` subcommands to their modules.
// Nothing else lives here; commander parses and types the options, the modules do the work.

import { Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import config from "./deno.json" with { type: "json" };
import { runConnect } from "./client/mod.ts";
import { DEFAULT_LIMITS, LOG_LEVELS, runAdmin, runServe } from "./server/mod.ts";

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new InvalidArgumentError("must be a positive whole number");
  }
  return n;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new InvalidArgumentError("must be a whole number, 0 or more");
  }
  return n;
}

const dataOption = () =>
  new Option("--data <dir>", "the server's data folder").env("CHATZ_DATA").default("chatz-data");
const timeoutOption = () =>
  new Option("--timeout <ms>", "give up when the server does not answer in time")
    .argParser(positiveInt).default(5000);

const program = new Command()
  .name("chatz")
  .description("Terminal chat over ZeroMQ: a server, and a client for people and scripts")
  .version(config.version, "-V, --version")
  .showHelpAfterError();

program.command("serve")
  .description("Run the chat server (with an operator console when on a terminal)")
  .addOption(
    new Option("--bind <endpoint>", "ZeroMQ endpoint to listen on")
      .env("CHATZ_BIND").default("tcp://0.0.0.0:5555"),
  )
  .addOption(dataOption())
  .addOption(new Option("--plugins <dir>", "folder of drop-in plugin files").env("CHATZ_PLUGINS"))
  .addOption(
    new Option("--registration <mode>", "whether unknown logins register themselves")
      .choices(["open", "closed"] as const).default("open" as const),
  )
  .addOption(
    new Option("--log-level <level>", "least severe level logged")
      .choices(LOG_LEVELS).env("CHATZ_LOG_LEVEL").default("info" as const),
  )
  .addOption(
    new Option("--log-max-bytes <n>", "rotate the log file at this size")
      .argParser(positiveInt).default(10 * 1024 * 1024),
  )
  .addOption(
    new Option("--sync <mode>", "normal: commits survive a killed server; full: also a power cut")
      .choices(["normal", "full"] as const).default("normal" as const),
  )
  .addOption(
    new Option("--history-max-messages <n>", "keep at most this many messages")
      .argParser(positiveInt),
  )
  .addOption(
    new Option("--history-max-days <n>", "delete messages older than this").argParser(positiveInt),
  )
  .addOption(
    new Option("--rate <n>", "commands per second per account after the burst; 0: no limit")
      .argParser(nonNegativeInt).default(DEFAULT_LIMITS.commandsPerSecond),
  )
  .addOption(
    new Option("--burst <n>", "commands an account may send at once")
      .argParser(positiveInt).default(DEFAULT_LIMITS.commandBurst),
  )
  .addOption(
    new Option("--max-groups <n>", "groups one account may be in")
      .argParser(positiveInt).default(DEFAULT_LIMITS.maxGroupsPerUser),
  )
  .addOption(
    new Option("--max-sessions <n>", "sessions one account may have at once")
      .argParser(positiveInt).default(DEFAULT_LIMITS.maxSessionsPerAccount),
  )
  .addOption(
    new Option("--session-timeout <ms>", "end a session silent this long")
      .argParser(positiveInt).default(DEFAULT_LIMITS.sessionTimeoutMs),
  )
  .addOption(
    new Option("--lag-limit <ms>", "end a session that reads nothing this long")
      .argParser(positiveInt).default(DEFAULT_LIMITS.lagLimitMs),
  )
  .addOption(
    new Option("--connects-per-minute <n>", "new connections per minute per address; 0: no limit")
      .argParser(nonNegativeInt).default(DEFAULT_LIMITS.connectsPerMinute),
  )
  .option("--curve", "encrypt with CURVE (key pair in DATA/curve.key) and serve the public key")
  .option(
    "--key-bind <endpoint>",
    "where to serve the public key, unencrypted (default: --bind's port + 1; implies --curve)",
  )
  .addOption(
    new Option("--peer-queue <frames>", "frames queued per client before it counts as lagging")
      .argParser(positiveInt).default(DEFAULT_LIMITS.peerQueueFrames),
  )
  .addOption(
    new Option(
      "--plugin-timeout <ms>",
      "answer plugin_failed to a command (skip a plugin's setup) after this long",
    )
      .argParser(positiveInt).default(DEFAULT_LIMITS.pluginTimeoutMs),
  )
  .option("--console", "run the operator console even when stdin is not a terminal")
  .option("--no-console", "no operator console, even on a terminal")
  .action(async (opts) => {
    const limits = {
      commandsPerSecond: opts.rate,
      commandBurst: opts.burst,
      maxGroupsPerUser: opts.maxGroups,
      maxSessionsPerAccount: opts.maxSessions,
      sessionTimeoutMs: opts.sessionTimeout,
      lagLimitMs: opts.lagLimit,
      connectsPerMinute: opts.connectsPerMinute,
      peerQueueFrames: opts.peerQueue,
      pluginTimeoutMs: opts.pluginTimeout,
    };
    Deno.exit(await runServe({ ...opts, limits, version: config.version }));
  });

program.command("connect")
  .description("Chat from this terminal, or from a script when stdin is not one")
  .requiredOption("--login <login>", "your login; a new one registers when the server allows")
  .addOption(
    new Option("--server <endpoint>", "server endpoint")
      .env("CHATZ_SERVER").default("tcp://127.0.0.1:5555"),
  )
  .option("--curve", "encrypt; the server's key is remembered, or trusted on first use")
  .option("--server-key <key>", "the server's CURVE public key, as it printed it (implies --curve)")
  .option(
    "--key-endpoint <endpoint>",
    "where to ask for the server's key (default: --server's port + 1; implies --curve)",
  )
  .option(
    "--password-file <path>",
    "read the password from this file's first line (else CHATZ_PASSWORD, else a prompt)",
  )
  .option("--json", "print every event as one JSON object per line", false)
  .addOption(timeoutOption())
  .addOption(
    new Option("--wait <ms>", "scripts: after stdin ends, keep printing events this long")
      .argParser(nonNegativeInt).default(0),
  )
  .option("--no-color", "no ANSI colors")
  .action(async (opts) => {
    Deno.exit(
      await runConnect({
        server: opts.server,
        login: opts.login,
        passwordFile: opts.passwordFile,
        json: opts.json,
        timeoutMs: opts.timeout,
        wait: opts.wait,
        color: opts.color,
        curve: opts.curve,
        serverKey: opts.serverKey,
        keyEndpoint: opts.keyEndpoint,
      }),
    );
  });

program.command("admin")
  .description("Run an operator command on a running server (`chatz admin help` lists them)")
  .argument("<command...>", "the command and its arguments, for example: kick bob spamming")
  .addOption(dataOption())
  .option("--yes", "confirm a command that asks first (clear-logs, clear-identities)", false)
  .option("--json", "print the reply as JSON", false)
  .addOption(timeoutOption())
  .action(async (words, opts) => {
    Deno.exit(
      await runAdmin({
        data: opts.data,
        line: words.join(" "),
        yes: opts.yes,
        json: opts.json,
        timeoutMs: opts.timeout,
      }),
    );
  });

await program.parseAsync(Deno.args, { from: "user" });
