import type { z } from "zod";

/** A bad configuration fails at start naming each offending key and the reason. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly issues: string[];
  constructor(source: string, issues: string[]) {
    super(`invalid configuration in ${source}:\n  ${issues.join("\n  ")}`);
    this.issues = issues;
  }
}

/** Parse with `schema` or throw a ConfigError listing `key.path: reason` for every issue. */
export function parseConfigOrThrow<S extends z.ZodType>(schema: S, input: unknown, source: string): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(
      source,
      parsed.error.issues.map((i) => {
        const key = i.path.join(".") || "(root)";
        const unknown = i.code === "unrecognized_keys" ? ` (${(i as { keys: string[] }).keys.join(", ")})` : "";
        return `${key}: ${i.message}${unknown}`;
      }),
    );
  }
  return parsed.data;
}
