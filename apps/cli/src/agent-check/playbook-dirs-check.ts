import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import path from "node:path";
import type { AgentConfig } from "@ccm/agent";
import { describeError, fail, pass, skip, type CheckResult } from "./check-result.ts";

const TITLE = "playbooks lint";

/** Folder lists (`*_dirs`) of every playbook's validated settings, e.g. disk-full's log_dirs. */
function configuredDirs(config: AgentConfig): { key: string; dir: string }[] {
  const out: { key: string; dir: string }[] = [];
  for (const [name, settings] of Object.entries(config.playbookConfig)) {
    if (!settings || typeof settings !== "object") continue;
    for (const [key, value] of Object.entries(settings)) {
      if (!key.endsWith("_dirs") || !Array.isArray(value)) continue;
      for (const dir of value) if (typeof dir === "string") out.push({ key: `playbooks.${name}.${key}`, dir });
    }
  }
  return out;
}

/**
 * The settings were validated with the config; this checks the folders they name on this host:
 * absolute, existing folders, writable unless dry-run (a read-only mount means EROFS at run time).
 */
export async function checkPlaybookDirs(config: AgentConfig | undefined): Promise<CheckResult> {
  if (!config) return skip("playbooks", TITLE, "skipped: the config is invalid (see above)");
  const dirs = configuredDirs(config);
  const names = Object.keys(config.playbookConfig).join(", ");
  if (dirs.length === 0) return pass("playbooks", TITLE, `${names}: settings valid; no folders configured, so disk-full finds nothing to clean`);
  const problems: string[] = [];
  for (const { key, dir } of dirs) {
    if (!path.isAbsolute(dir)) {
      problems.push(`${key}: ${dir} is not an absolute path`);
      continue;
    }
    const st = await stat(dir).catch((err: unknown) => err as Error);
    if (st instanceof Error) problems.push(`${key}: ${dir} ${(st as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : `cannot be read (${describeError(st)})`}`);
    else if (!st.isDirectory()) problems.push(`${key}: ${dir} is not a folder`);
    else if (!config.dry_run) {
      const denied = await access(dir, constants.W_OK).then(() => null, (err: unknown) => err as Error);
      if (denied) problems.push(`${key}: ${dir} is not writable (${describeError(denied)})`);
    }
  }
  if (problems.length > 0) {
    return fail(
      "playbooks",
      TITLE,
      problems.join("\n"),
      "create the folder, or remove it from that key in the config; folders outside /var/log, /var/tmp, /tmp need a ReadWritePaths drop-in",
    );
  }
  return pass("playbooks", TITLE, `${names}: ${dirs.length} folder(s) exist: ${dirs.map((d) => d.dir).join(", ")}`);
}
