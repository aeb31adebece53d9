// The chatz command line: wires the `serve`, `connect`, `admin` and `migrate` subcommands to their modules.
// Nothing else lives here; commander parses and types the options, the modules do the work.

import { Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import config from "./deno.json" with { type: "json" };
import { runConnect } from "./client/mod.ts";
import { FIRST_USE_POLICIES } from "./client/trust_prompt.ts";
import {
  applyConfigFile,
  DEFAULT_LIMITS,
  DEFAULT_RESERVE_DAYS,
  envName,
  LOG_FORMATS,
  LOG_LEVELS,
  printConfig,
  reapplyConfigFile,
  runAdmin,
  runMigrate,
  runServe,
  type ServeCliOptions,
} from "./server/mod.ts";

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

/** `--plugin-option NAME.KEY=VALUE`, repeatable: collected into options by plugin name. */
function pluginOption(
  value: string,
  previous: Record<string, Record<string, string>> | undefined,
): Record<string, Record<string, string>> {
  const match = /^([a-z][a-z0-9_-]{0,39})\.([A-Za-z0-9_-]{1,64})=(.*)$/s.exec(value);
  if (!match) throw new InvalidArgumentError("must be NAME.KEY=VALUE, as in roll.max_dice=10");
  const [, plugin, key, text] = match;
  const all = { ...previous };
  all[plugin] = { ...all[plugin], [key]: text };
  return all;
}

const dataOption = () =>
  new Option("--data <dir>", "the server's data folder").env("CHATZ_DATA").default("chatz-data");
const timeoutOption = () =>
  new Option("--timeout <ms>", "give up when the server does not answer in time")
    .argParser(positiveInt).default(5000);

/** An option of `chatz serve`: it can also come from CHATZ_<KEY> and from the config file. */
function serveOption<F extends string>(flags: F, description: string) {
  const option = new Option(flags, description);
  return option.env(envName(option));
}

const program = new Command()
  .name("chatz")
  .description("Terminal chat over ZeroMQ: a server, and a client for people and scripts")
  .version(config.version, "-V, --version")
  .showHelpAfterError();

const serve = program.command("serve")
  .description("Run the chat server (with an operator console when on a terminal)")
  .addOption(
    serveOption("--config <file>", "read options from this TOML file (file < environment < flags)"),
  )
  .option("--print-config", "print the effective configuration as TOML and exit")
  .addOption(
    serveOption("--bind <endpoint>", "ZeroMQ endpoint to listen on")
      .default("tcp://0.0.0.0:5555"),
  )
  .addOption(dataOption())
  .addOption(serveOption("--plugins <dir>", "folder of drop-in plugin files"))
  .addOption(
    serveOption("--registration <mode>", "whether unknown logins register themselves")
      .choices(["open", "closed"] as const).default("open" as const),
  )
  .addOption(
    serveOption("--log-level <level>", "least severe level logged")
      .choices(LOG_LEVELS).default("info" as const),
  )
  .addOption(
    serveOption("--log-max-bytes <n>", "rotate the log file at this size")
      .argParser(positiveInt).default(10 * 1024 * 1024),
  )
  .addOption(
    serveOption("--sync <mode>", "normal: commits survive a killed server; full: also a power cut")
      .choices(["normal", "full"] as const).default("normal" as const),
  )
  .addOption(
    serveOption("--store <url>", "cluster mode: keep everything in this PostgreSQL database"),
  )
  .addOption(
    serveOption("--bus <url>", "cluster mode: relay to the other nodes over this NATS server"),
  )
  .addOption(
    serveOption("--history-max-messages <n>", "keep at most this many messages")
      .argParser(positiveInt),
  )
  .addOption(
    serveOption("--history-max-days <n>", "delete messages older than this").argParser(positiveInt),
  )
  .addOption(
    serveOption("--rate <n>", "commands per second per account after the burst; 0: no limit")
      .argParser(nonNegativeInt).default(DEFAULT_LIMITS.commandsPerSecond),
  )
  .addOption(
    serveOption("--burst <n>", "commands an account may send at once")
      .argParser(positiveInt).default(DEFAULT_LIMITS.commandBurst),
  )
  .addOption(
    serveOption("--max-groups <n>", "groups one account may be in")
      .argParser(positiveInt).default(DEFAULT_LIMITS.maxGroupsPerUser),
  )
  .addOption(
    serveOption("--max-sessions <n>", "sessions one account may have at once")
      .argParser(positiveInt).default(DEFAULT_LIMITS.maxSessionsPerAccount),
  )
  .addOption(
    serveOption(
      "--offline-limit <n>",
      "direct messages kept for one offline account; more are refused to the sender",
    ).argParser(positiveInt).default(DEFAULT_LIMITS.maxWaitingPerAccount),
  )
  .addOption(
    serveOption(
      "--session-timeout <ms>",
      "end a session silent this long; close a connection silent 4 times as long",
    )
      .argParser(positiveInt).default(DEFAULT_LIMITS.sessionTimeoutMs),
  )
  .addOption(
    serveOption("--lag-limit <ms>", "end a session that reads nothing this long")
      .argParser(positiveInt).default(DEFAULT_LIMITS.lagLimitMs),
  )
  .addOption(
    serveOption(
      "--login-deadline <ms>",
      "close a connection that has not logged in this long; 0: never",
    ).argParser(nonNegativeInt).default(DEFAULT_LIMITS.loginDeadlineMs),
  )
  .addOption(
    serveOption("--connects-per-minute <n>", "new connections per minute per address; 0: no limit")
      .argParser(nonNegativeInt).default(DEFAULT_LIMITS.connectsPerMinute),
  )
  .addOption(
    serveOption(
      "--connections-per-address <n>",
      "open connections one address may hold; 0: no limit",
    ).argParser(nonNegativeInt).default(DEFAULT_LIMITS.connectionsPerAddress),
  )
  .addOption(
    serveOption(
      "--registrations-per-minute <n>",
      "accounts one address may register per minute; 0: no limit",
    )
      .argParser(nonNegativeInt).default(DEFAULT_LIMITS.registrationsPerMinute),
  )
  .option(
    "--no-curve",
    "serve WITHOUT encryption: passwords and messages travel in clear (default: CURVE, key pair " +
      "in DATA/curve.key)",
  )
  // Encryption is the default now; --curve stays accepted so older scripts keep working. No
  // environment variable: CHATZ_CURVE=1 on the negated flag would turn encryption off. The config
  // file's key is `curve = false`.
  .addOption(new Option("--curve", "encrypt with CURVE (the default)").hideHelp().default(true))
  .addOption(
    serveOption(
      "--key-bind <endpoint>",
      'where to serve the public key, unencrypted (default: --bind\'s port + 1; "none": nowhere)',
    ),
  )
  .addOption(
    serveOption("--peer-queue <frames>", "frames queued per client before it counts as lagging")
      .argParser(positiveInt).default(DEFAULT_LIMITS.peerQueueFrames),
  )
  .addOption(
    serveOption(
      "--plugin-timeout <ms>",
      "answer plugin_failed to a command (skip a plugin's setup) after this long",
    )
      .argParser(positiveInt).default(DEFAULT_LIMITS.pluginTimeoutMs),
  )
  .addOption(
    serveOption(
      "--plugin-option <NAME.KEY=VALUE>",
      "an option for one plugin (its ctx.options); repeat for more",
    ).argParser(pluginOption),
  )
  .addOption(
    serveOption("--deleted-login-days <n>", "a deleted account's login stays reserved this long")
      .argParser(nonNegativeInt).default(DEFAULT_RESERVE_DAYS),
  )
  .addOption(
    serveOption("--log-format <format>", "text: one readable line per event; json: one object")
      .choices(LOG_FORMATS).default("text" as const),
  )
  .addOption(
    serveOption(
      "--metrics-bind <host:port>",
      "serve Prometheus metrics over HTTP here, at /metrics",
    ),
  )
  .option("--console", "run the operator console even when stdin is not a terminal")
  .option("--no-console", "no operator console, even on a terminal");

/** The options `runServe` takes, from commander's parsed values. */
function serveOptions(opts: ReturnType<typeof serve.opts>): ServeCliOptions {
  const limits = {
    commandsPerSecond: opts.rate,
    commandBurst: opts.burst,
    maxGroupsPerUser: opts.maxGroups,
    maxSessionsPerAccount: opts.maxSessions,
    maxWaitingPerAccount: opts.offlineLimit,
    sessionTimeoutMs: opts.sessionTimeout,
    lagLimitMs: opts.lagLimit,
    loginDeadlineMs: opts.loginDeadline,
    connectsPerMinute: opts.connectsPerMinute,
    connectionsPerAddress: opts.connectionsPerAddress,
    registrationsPerMinute: opts.registrationsPerMinute,
    peerQueueFrames: opts.peerQueue,
    pluginTimeoutMs: opts.pluginTimeout,
  };
  return { ...opts, limits, pluginOptions: opts.pluginOption, version: config.version };
}

serve
  .hook("preAction", (command) => {
    const path = command.opts().config;
    if (path === undefined) return;
    try {
      applyConfigFile(command, path);
    } catch (error) {
      console.error(`chatz: ${(error as Error).message}`);
      Deno.exit(1);
    }
  })
  .action(async (opts, command) => {
    if (opts.printConfig) {
      console.log(printConfig(command).trimEnd());
      Deno.exit(0);
    }
    const path = opts.config;
    const reload = path === undefined ? undefined : () => {
      reapplyConfigFile(command, path);
      return serveOptions(command.opts());
    };
    Deno.exit(await runServe({ ...serveOptions(opts), reload }));
  });

program.command("connect")
  .description("Chat from this terminal, or from a script when stdin is not one")
  .requiredOption("--login <login>", "your login; a new one registers when the server allows")
  .addOption(
    new Option(
      "--server <endpoint>",
      "server endpoint; several (comma-separated, or a DNS name with several addresses): used in turn",
    )
      .env("CHATZ_SERVER").default("tcp://127.0.0.1:5555"),
  )
  .option(
    "--no-curve",
    "connect WITHOUT encryption, to a server started with --no-curve: your password travels in clear",
  )
  // Encryption is the default now; --curve stays accepted so older scripts keep working.
  .addOption(new Option("--curve", "encrypt with CURVE (the default)").hideHelp())
  .option("--server-key <key>", "the server's CURVE public key, as it printed it")
  .option(
    "--key-endpoint <endpoint>",
    "where to ask for the server's key on first use (default: --server's port + 1)",
  )
  .addOption(
    new Option(
      "--trust-on-first-use <answer>",
      "a server key met for the first time: accept or refuse it (default: ask on a terminal, " +
        "else refuse)",
    ).choices(FIRST_USE_POLICIES).env("CHATZ_TRUST_ON_FIRST_USE"),
  )
  .option(
    "--password-file <path>",
    "read the password from this file's first line (else CHATZ_PASSWORD, else a prompt)",
  )
  .option("--invite <code>", "an operator's invitation code: register while registration is closed")
  .option("--json", "print every event as one JSON object per line", false)
  .addOption(timeoutOption())
  .addOption(
    new Option("--wait <ms>", "scripts: after stdin ends, keep printing events this long")
      .argParser(nonNegativeInt).default(0),
  )
  .option("--no-color", "no ANSI colors")
  .option("--plain", "on a terminal: line mode instead of the full-screen client")
  .option(
    "--highlight <words>",
    "full-screen: also highlight messages with these words (comma-separated)",
    (value: string) => value.split(",").map((w) => w.trim()).filter((w) => w !== ""),
  )
  .option("--no-bell", "full-screen: no terminal bell on mentions and direct messages")
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
        plain: opts.plain === true,
        highlight: opts.highlight,
        bell: opts.bell,
        curve: opts.curve,
        serverKey: opts.serverKey,
        keyEndpoint: opts.keyEndpoint,
        trustOnFirstUse: opts.trustOnFirstUse,
        invite: opts.invite,
      }),
    );
  });

program.command("admin")
  .description("Run an operator command on a running server (`chatz admin help` lists them)")
  .argument("<command...>", "the command and its arguments, for example: kick bob spamming")
  // Options chatz admin does not know belong to the command (`invite create --uses 3`).
  .allowUnknownOption()
  .addOption(dataOption())
  .option(
    "--yes",
    "confirm a command that asks first (clear-logs, clear-identities, user del)",
    false,
  )
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

program.command("migrate")
  .description(
    "Copy an embedded data folder into a PostgreSQL database (the folder is kept)",
  )
  .requiredOption("--from <dir>", "the data folder to copy (no server may be running on it)")
  .requiredOption("--to <url>", "an empty PostgreSQL database: postgres://user@host:port/db")
  .action(async (opts) => {
    Deno.exit(await runMigrate({ from: opts.from, to: opts.to }));
  });

await program.parseAsync(Deno.args, { from: "user" });
