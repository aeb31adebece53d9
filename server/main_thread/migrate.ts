// `chatz migrate`: copies an embedded data folder into PostgreSQL for cluster mode, and prints the
// counts on both sides so the operator can see that nothing was left behind.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { lockDataFolder } from "./data_lock.ts";
import { type CopyReport, copyToPostgres } from "../serving/store/copy_to_postgres.ts";
import { isPostgresUrl, redactUrl } from "../serving/store/postgres.ts";

/** Options of `chatz migrate`. */
export interface MigrateOptions {
  /** The embedded data folder. */
  from: string;
  /** The PostgreSQL URL. */
  to: string;
}

/** Runs the migration and prints its report; returns the exit code. */
export async function runMigrate(options: MigrateOptions): Promise<number> {
  const fail = (message: string) => {
    console.error(`chatz migrate: ${message}`);
    return 1;
  };
  if (!isPostgresUrl(options.to)) {
    return fail(`Cannot migrate to "${options.to}": not a postgres:// or postgresql:// URL`);
  }
  if (!existsSync(join(options.from, "chatz.db"))) {
    return fail(`Cannot migrate "${options.from}": no chatz data there (no chatz.db)`);
  }
  // Held until this process exits: no server may write to the folder while it is copied.
  if (!lockDataFolder(options.from)) {
    return fail(`Cannot migrate "${options.from}": a chatz server is running on it; stop it first`);
  }
  let report: CopyReport;
  try {
    report = await copyToPostgres(options.from, options.to);
  } catch (error) {
    return fail((error as Error).message);
  }
  console.log(formatReport(options, report));
  return 0;
}

/** The counts as a small table a person reads and a script can parse. */
export function formatReport(options: MigrateOptions, report: CopyReport): string {
  const rows = [
    ...report.tables.map((t) => [t.name, t.source, t.copied] as const),
    ["messages", report.messages.source, report.messages.copied] as const,
  ];
  const width = Math.max(...rows.map((r) => r[0].length));
  return [
    `Copied ${options.from} into ${redactUrl(options.to)}`,
    `${"table".padEnd(width)}  embedded  postgres`,
    ...rows.map(([name, a, b]) =>
      `${name.padEnd(width)}  ${String(a).padStart(8)}  ${String(b).padStart(8)}`
    ),
    `Every count matches. Message ids continue after ${report.lastMessageId}; ` +
    `${options.from} is unchanged.`,
  ].join("\n");
}
