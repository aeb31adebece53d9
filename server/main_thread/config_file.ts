// `chatz serve --config FILE`: every serve option as a TOML key, with the precedence file < environment < flags.
// Commander keeps the source of each value; the file fills only what neither a flag nor the environment set.

import { parse, stringify, type TomlPrimitive } from "smol-toml";
import { fileErrorReason } from "../../protocol/mod.ts";

/** The part of a commander Option the config file needs (commander's own type, structurally). */
export interface ConfigOption {
  long?: string;
  required: boolean;
  optional: boolean;
  negate: boolean;
  defaultValue?: unknown;
  envVar?: string;
  argChoices?: string[];
  parseArg?: <T>(value: string, previous: T) => T;
  attributeName(): string;
}

/** Where a value came from, as commander records it ("default", "config", "env", "cli", ...). */
export type ValueSource = string | undefined;

/** The part of a commander Command the config file needs. */
export interface ConfigCommand {
  readonly options: readonly ConfigOption[];
  getOptionValue(key: string): unknown;
  getOptionValueSource(key: string): ValueSource;
  setOptionValueWithSource(key: string, value: unknown, source: "default" | "config"): unknown;
}

/**
 * Repeatable options whose file form is a table of tables: `[plugin_option.roll]` then
 * `max_dice = 10` is `--plugin-option roll.max_dice=10`.
 */
const TABLE_KEYS = new Set(["plugin_option"]);

/** Options of `chatz serve` that are about the file itself, not settings in it. */
const NOT_IN_FILE = new Set(["config", "print-config"]);

/** The TOML key of an option: its long flag without dashes and `no-`, in snake_case. */
export function configKey(option: ConfigOption): string {
  return (option.long ?? "").replace(/^--(no-)?/, "").replaceAll("-", "_");
}

/** The environment variable of an option by the house rule: `CHATZ_<KEY>`. */
export function envName(option: ConfigOption): string {
  return `CHATZ_${configKey(option).toUpperCase()}`;
}

/** Options that the file may set, by key; a negated flag shares its key with the positive one. */
function fileOptions(command: ConfigCommand): Map<string, ConfigOption> {
  const byKey = new Map<string, ConfigOption>();
  for (const option of command.options) {
    const key = configKey(option);
    if (!key || NOT_IN_FILE.has(key.replaceAll("_", "-"))) continue;
    if (!byKey.has(key) || !option.negate) byKey.set(key, option);
  }
  return byKey;
}

/** Reads and parses a TOML file; the error names the file and the line. */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    throw new Error(`Cannot read config "${path}": ${fileErrorReason(error)}`);
  }
  try {
    return parse(text);
  } catch (error) {
    const first = String((error as Error).message).split("\n")[0];
    throw new Error(`Cannot read config "${path}": ${first}`);
  }
}

/** Checks one file value against its option and returns it as the option's parsed value. */
function parseValue(path: string, key: string, option: ConfigOption, raw: unknown): unknown {
  const bad = (why: string) => new Error(`Cannot use config "${path}": key "${key}" ${why}`);
  if (!option.required && !option.optional) {
    // `--no-console` and `--console` share the attribute `console`: the file says true or false.
    if (typeof raw !== "boolean") throw bad("must be true or false");
    return raw;
  }
  if (TABLE_KEYS.has(key)) return parseTable(key, option, raw, bad);
  let text: string;
  if (typeof raw === "string") text = raw;
  else if (typeof raw === "number" && Number.isFinite(raw)) text = String(raw);
  else if (typeof raw === "bigint") text = String(raw);
  else throw bad("must be a string or a number");
  if (option.argChoices && !option.argChoices.includes(text)) {
    throw bad(`must be one of ${option.argChoices.map((c) => `"${c}"`).join(", ")}`);
  }
  if (!option.parseArg) return text;
  try {
    return option.parseArg(text, undefined);
  } catch (error) {
    throw bad((error as Error).message);
  }
}

/** A table of tables as the repeated flag values `NAME.KEY=VALUE`, each through the option's parser. */
function parseTable(
  key: string,
  option: ConfigOption,
  raw: unknown,
  bad: (why: string) => Error,
): unknown {
  const isTable = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
  if (!isTable(raw)) throw bad(`must be a table of tables, as in [${key}.NAME]`);
  let value: unknown;
  for (const [name, table] of Object.entries(raw)) {
    if (!isTable(table)) throw bad(`must hold tables, as in [${key}.${name}]`);
    for (const [field, item] of Object.entries(table)) {
      if (typeof item !== "string" && typeof item !== "number" && typeof item !== "boolean") {
        throw bad(`.${name}.${field} must be a string, a number or true/false`);
      }
      try {
        value = option.parseArg!(`${name}.${field}=${item}`, value);
      } catch (error) {
        throw bad(`.${name}.${field}: ${(error as Error).message}`);
      }
    }
  }
  return value;
}

/**
 * Applies the file's values to every option that neither a flag nor the environment set. Unknown
 * keys and bad values throw an Error naming the key. Call from a preAction hook, after commander
 * has read the flags and the environment.
 */
export function applyConfigFile(command: ConfigCommand, path: string): void {
  const values = readConfigFile(path);
  const options = fileOptions(command);
  const unknown = Object.keys(values).filter((key) => !options.has(key));
  if (unknown.length > 0) {
    const known = [...options.keys()].join(", ");
    throw new Error(
      `Cannot use config "${path}": unknown key "${unknown[0]}" (known keys: ${known})`,
    );
  }
  const parsed = new Map<string, unknown>();
  for (const [key, raw] of Object.entries(values)) {
    parsed.set(key, parseValue(path, key, options.get(key)!, raw));
  }
  for (const [key, value] of parsed) {
    const attribute = options.get(key)!.attributeName();
    const source = command.getOptionValueSource(attribute);
    if (source === undefined || source === "default" || source === "config") {
      command.setOptionValueWithSource(attribute, value, "config");
    }
  }
}

/**
 * Reads the file again for a reload: every value that came from the file or a default goes back to
 * its default, then the file applies. Flags and the environment keep their values, as at start.
 */
export function reapplyConfigFile(command: ConfigCommand, path: string): void {
  // Parse first, so a bad file leaves the running values untouched.
  const scratch = shadow(command);
  applyConfigFile(scratch, path);
  for (const option of fileOptions(command).values()) {
    const attribute = option.attributeName();
    const source = command.getOptionValueSource(attribute);
    if (source !== undefined && source !== "default" && source !== "config") continue;
    const next = scratch.values.get(attribute);
    if (next) command.setOptionValueWithSource(attribute, next.value, next.source);
    else command.setOptionValueWithSource(attribute, defaultOf(command, attribute), "default");
  }
}

function defaultOf(command: ConfigCommand, attribute: string): unknown {
  return command.options.find((o) => o.attributeName() === attribute && !o.negate)?.defaultValue ??
    command.options.find((o) => o.attributeName() === attribute)?.defaultValue;
}

/** A copy of the command's option table whose values start at the defaults. */
function shadow(command: ConfigCommand) {
  const values = new Map<string, { value: unknown; source: "default" | "config" }>();
  return {
    options: command.options,
    values,
    getOptionValue: (key: string) => values.get(key)?.value,
    getOptionValueSource: (key: string): ValueSource => values.get(key)?.source,
    setOptionValueWithSource(key: string, value: unknown, source: "default" | "config") {
      values.set(key, { value, source });
    },
  };
}

/**
 * The effective configuration as a TOML file: every key with its value, and where it came from as a
 * comment. Options without a value are listed commented out, so the output is a complete template.
 */
export function printConfig(command: ConfigCommand): string {
  const lines = ["# chatz serve: effective configuration (file < environment < flags)"];
  const tables: string[] = [];
  for (const [key, option] of fileOptions(command)) {
    const attribute = option.attributeName();
    const value = command.getOptionValue(attribute);
    const source = command.getOptionValueSource(attribute) ?? "default";
    const origin = source === "cli"
      ? "from a flag"
      : source === "env"
      ? `from ${option.envVar ?? "the environment"}`
      : source === "config"
      ? "from the config file"
      : "default";
    if (value === undefined) {
      lines.push(`# ${key} =  (not set)`);
      continue;
    }
    if (TABLE_KEYS.has(key)) {
      // Tables go last: a key after a table header would belong to the table.
      tables.push(`# ${key}: ${origin}`, stringify({ [key]: value as TomlPrimitive }).trim());
      continue;
    }
    const toml = stringify({ [key]: value as TomlPrimitive }).trim();
    lines.push(`${toml}  # ${origin}`);
  }
  return [...lines, ...tables].join("\n") + "\n";
}
