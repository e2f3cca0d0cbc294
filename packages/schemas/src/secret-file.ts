import { readFileSync } from "node:fs";
import { ConfigError } from "./config-error.ts";

export interface SecretFileOptions {
  /** The file may hold several values, one per line (current and next during a rotation), joined with commas. */
  list?: boolean;
}

/**
 * Read one secret from `file`: blank lines and `#` comments are ignored, and it must hold exactly one
 * value unless `list`. Problems are pushed to `issues` as `label: reason` (never the value) and
 * undefined is returned, so a config loader can report every bad key at once.
 */
export function readSecretFile(file: string, label: string, issues: string[], options: SecretFileOptions = {}): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    issues.push(`${label}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    return undefined;
  }
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  if (lines.length === 0) issues.push(`${label}: ${file} is empty`);
  else if (lines.length > 1 && !options.list) issues.push(`${label}: ${file} must hold one value, found ${lines.length} lines`);
  else return lines.join(",");
  return undefined;
}

/**
 * The secret that `<key>_FILE` names, or undefined when that variable is unset. Setting both `<key>`
 * and `<key>_FILE` is an issue, so it is never unclear which one is in force.
 */
export function readSecretFileVar(
  env: Record<string, string | undefined>,
  key: string,
  issues: string[],
  options: SecretFileOptions = {},
): string | undefined {
  const file = env[`${key}_FILE`];
  if (!file) return undefined;
  if (env[key]) {
    issues.push(`${key}_FILE: ${key} is also set; use one of them`);
    return undefined;
  }
  return readSecretFile(file, `${key}_FILE`, issues, options);
}

/**
 * A copy of `env` with each of `keys` filled from `<key>_FILE` when set (systemd credentials,
 * Docker/K8s secrets) and the `_FILE` variables removed; `listKeys` may hold one value per line.
 * Throws one ConfigError naming every bad key. The values are never logged.
 */
export function withSecretFiles(
  env: Record<string, string | undefined>,
  keys: readonly string[],
  listKeys: readonly string[] = [],
): Record<string, string | undefined> {
  const out = { ...env };
  const issues: string[] = [];
  for (const key of keys) {
    if (!env[`${key}_FILE`]) continue;
    const value = readSecretFileVar(env, key, issues, { list: listKeys.includes(key) });
    if (value !== undefined) out[key] = value;
    delete out[`${key}_FILE`];
  }
  if (issues.length > 0) throw new ConfigError("the environment", issues);
  return out;
}
