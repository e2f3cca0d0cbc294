import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { ConfigError, parseConfigOrThrow, sourcesFileSchema, type SourcesFile } from "@ccm/schemas";

/** Load CCM_SOURCES_FILE (YAML or JSON); a missing or invalid file fails the hub at start, naming it. */
export function loadSourcesFile(path: string | undefined): SourcesFile {
  if (!path) return { generic: {} };
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError("the environment", [`CCM_SOURCES_FILE: cannot read ${path}: ${(err as Error).message}`]);
  }
  let data: unknown;
  try {
    data = parseYaml(text) as unknown; // JSON is YAML
  } catch (err) {
    throw new ConfigError(`CCM_SOURCES_FILE (${path})`, [`not valid YAML/JSON: ${(err as Error).message}`]);
  }
  return parseConfigOrThrow(sourcesFileSchema, data ?? {}, `CCM_SOURCES_FILE (${path})`);
}
