import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { ServiceError } from "../errors/service-error.js";
import { type Config, configSchema } from "./schema.js";

export interface ConfigIssue {
  /** Dotted key path, e.g. "typesense.import_max_attempts". "" = the file itself. */
  path: string;
  message: string;
}

export class ConfigError extends ServiceError {
  override readonly name = "ConfigError";
  constructor(
    readonly source: string,
    readonly issues: ConfigIssue[],
  ) {
    super(
      "CONFIG_INVALID",
      `invalid configuration in ${source}:\n${issues.map((i) => `  - ${i.path || "(file)"}: ${i.message}`).join("\n")}`,
    );
  }
}

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces ${VAR} and ${VAR:-default} inside every string value of the parsed
 * YAML (expanding after parsing keeps secrets with YAML-special characters
 * intact). `${VAR:-default}` uses the default when VAR is unset or empty, as
 * in POSIX shells. An unset `${VAR}` is an issue naming both the variable and
 * the key that needs it.
 */
function expand(
  value: unknown,
  env: Record<string, string | undefined>,
  path: string[],
  issues: ConfigIssue[],
): unknown {
  if (typeof value === "string") {
    return value.replace(PLACEHOLDER, (_m, name: string, def: string | undefined) => {
      const v = env[name];
      if (def !== undefined) return v === undefined || v === "" ? def : v;
      if (v === undefined) {
        issues.push({
          path: path.join("."),
          message: `environment variable ${name} is not set`,
        });
        return "";
      }
      return v;
    });
  }
  if (Array.isArray(value))
    return value.map((v, i) => expand(v, env, [...path, String(i)], issues));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = expand(v, env, [...path, k], issues);
    return out;
  }
  return value;
}

export interface LoadConfigOptions {
  /** Environment for ${VAR} expansion (main.ts passes process.env). */
  env: Record<string, string | undefined>;
  /** Path of the YAML file. */
  file: string;
  /** YAML text instead of reading `file` (tests); `file` then only names the source. */
  text?: string;
}

/** Parses an already-read YAML document. Throws ConfigError listing every bad key. */
export function parseConfig(
  text: string,
  env: Record<string, string | undefined>,
  source = "config",
): Config {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new ConfigError(source, [
      { path: "", message: `not valid YAML: ${e instanceof Error ? e.message : String(e)}` },
    ]);
  }
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConfigError(source, [{ path: "", message: "the top level must be a mapping" }]);
  }
  const issues: ConfigIssue[] = [];
  const expanded = expand(raw, env, [], issues);
  const parsed = configSchema.safeParse(expanded);
  const missingVarPaths = new Set(issues.map((i) => i.path));
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const base = issue.path.map(String);
      // unrecognized_keys reports the parent: name each unknown key itself
      if (issue.code === "unrecognized_keys") {
        for (const k of issue.keys) {
          issues.push({ path: [...base, k].join("."), message: "unknown key" });
        }
        continue;
      }
      const path = base.join(".");
      // the missing variable already explains why this key is empty
      if (missingVarPaths.has(path)) continue;
      issues.push({ path, message: issue.message });
    }
  }
  if (issues.length > 0) throw new ConfigError(source, issues);
  if (!parsed.success) throw new ConfigError(source, [{ path: "", message: "invalid" }]);
  return parsed.data;
}

export function loadConfig(opts: LoadConfigOptions): Config {
  let text = opts.text;
  if (text === undefined) {
    try {
      text = readFileSync(opts.file, "utf8");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new ConfigError(opts.file, [
        {
          path: "",
          message: code === "ENOENT" ? "file not found" : `cannot read file (${String(code)})`,
        },
      ]);
    }
  }
  return parseConfig(text, opts.env, opts.file);
}
