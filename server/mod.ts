// The server's entry points for main.ts: `chatz serve`, `chatz admin` and `chatz migrate`, and option defaults.
// Re-exports only: the main thread's code is in main_thread/, the serving thread's in serving/.

export { runServe, type ServeCliOptions } from "./main_thread/run_serve.ts";
export { type AdminOptions, runAdmin } from "./main_thread/admin.ts";
export { type MigrateOptions, runMigrate } from "./main_thread/migrate.ts";
export { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from "./log.ts";
export {
  applyConfigFile,
  envName,
  printConfig,
  reapplyConfigFile,
} from "./main_thread/config_file.ts";
export { DEFAULT_LIMITS, type ServerLimits } from "./serving/serve.ts";
export { DEFAULT_RESERVE_DAYS } from "./serving/deleted_logins.ts";
