import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import type { Playbook } from "../types.ts";
import { compileYamlPlaybook } from "./compile.ts";
import { yamlPlaybookSchema, type YamlPlaybook } from "./schema.ts";

export interface LintResult {
  file: string;
  ok: boolean;
  /** "path: message" per problem. */
  problems: string[];
  playbook?: YamlPlaybook;
}

/** Parse and validate one playbook file. */
export async function lintPlaybookFile(file: string): Promise<LintResult> {
  let raw: unknown;
  try {
    raw = parseYaml(await readFile(file, "utf8"));
  } catch (err) {
    return { file, ok: false, problems: [`not readable YAML: ${(err as Error).message.split("\n")[0]}`] };
  }
  const parsed = yamlPlaybookSchema.safeParse(raw);
  if (!parsed.success) {
    return { file, ok: false, problems: parsed.error.issues.map((i) => `${i.path.length ? i.path.join(".") : "(top)"}: ${i.message}`) };
  }
  return { file, ok: true, problems: [], playbook: parsed.data };
}

/** Every *.yaml / *.yml in `dir` (not recursive), sorted by name. */
export async function playbookFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  return names.filter((n) => /\.ya?ml$/.test(n)).sort().map((n) => path.join(dir, n));
}

/** Thrown at start when an operator playbook folder holds an invalid file: the agent refuses to start. */
export class PlaybookLoadError extends Error {
  override readonly name = "PlaybookLoadError";
  constructor(readonly problems: string[]) {
    super(`invalid operator playbooks:\n  ${problems.join("\n  ")}`);
  }
}

/** Load and compile every playbook in `dirs`; any invalid file or duplicate name fails the whole load. */
export async function loadOperatorPlaybooks(dirs: readonly string[], builtinNames: readonly string[]): Promise<Playbook<unknown, unknown>[]> {
  const problems: string[] = [];
  const out: Playbook<unknown, unknown>[] = [];
  const seen = new Set(builtinNames);
  for (const dir of dirs) {
    let files: string[];
    try {
      files = await playbookFiles(dir);
    } catch (err) {
      problems.push(`${dir}: cannot read folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      continue;
    }
    for (const file of files) {
      const r = await lintPlaybookFile(file);
      if (!r.playbook) {
        problems.push(...r.problems.map((p) => `${file}: ${p}`));
        continue;
      }
      if (seen.has(r.playbook.name)) {
        problems.push(`${file}: name ${r.playbook.name} is already taken`);
        continue;
      }
      seen.add(r.playbook.name);
      out.push(compileYamlPlaybook(r.playbook) as Playbook<unknown, unknown>);
    }
  }
  if (problems.length > 0) throw new PlaybookLoadError(problems);
  return out;
}
