import { readFile, stat } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { silentLogger } from "@ccm/logger";
import {
  compileYamlPlaybook,
  createHostActions,
  engineOptions,
  lintPlaybookFile,
  memoryContext,
  memoryHooks,
  playbookFiles,
  playbookJsonSchema,
  runPlaybook,
  type Playbook,
} from "@ccm/playbooks";
import { parse, UsageError } from "../args.ts";

const alertSchema = z.object({
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()).default({}),
});

/** `ccm playbooks lint <dir|file>...`, `ccm playbooks test <file> --alert <json|@file>`, `ccm playbooks schema`. */
export async function playbooksCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === "lint") return lint(rest);
  if (sub === "test") return test(rest);
  if (sub === "schema") {
    console.log(JSON.stringify(playbookJsonSchema(), null, 2));
    return;
  }
  throw new UsageError(`unknown playbooks command ${sub ?? "(none)"}; try: ccm playbooks lint <dir> | test <file> --alert <json> | schema`);
}

async function lint(argv: string[]): Promise<void> {
  const { positionals } = parse(argv, {});
  if (positionals.length === 0) throw new UsageError("ccm playbooks lint <dir|file>...");
  const files: string[] = [];
  for (const p of positionals) {
    const st = await stat(p).catch(() => null);
    if (!st) throw new UsageError(`${p}: no such file or folder`);
    files.push(...(st.isDirectory() ? await playbookFiles(p) : [p]));
  }
  let bad = 0;
  const names = new Map<string, string>();
  for (const f of files) {
    const r = await lintPlaybookFile(f);
    const problems = [...r.problems];
    if (r.playbook) {
      const other = names.get(r.playbook.name);
      if (other) problems.push(`name: ${r.playbook.name} is also used by ${other}`);
      names.set(r.playbook.name, f);
    }
    if (problems.length === 0) console.log(`ok    ${f} (${r.playbook?.name} ${r.playbook?.version})`);
    else {
      bad++;
      console.log(`FAIL  ${f}`);
      for (const p of problems) console.log(`      ${p}`);
    }
  }
  if (files.length === 0) console.log("no *.yaml or *.yml files found");
  if (bad > 0) process.exitCode = 1;
}

async function readJsonArg(v: string): Promise<unknown> {
  const text = v.startsWith("@") ? await readFile(v.slice(1), "utf8") : v;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`--alert is not JSON: ${(err as Error).message}`);
  }
}

/** Dry run: match, diagnose for real (read-only), score as a new playbook, and list what remediation would do. */
async function test(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    alert: { type: "string" },
    "agent-config": { type: "string" },
    config: { type: "string" },
    json: { type: "boolean", default: false },
  });
  const file = positionals[0];
  if (!file || !values.alert) throw new UsageError("ccm playbooks test <file> --alert <json|@file> [--agent-config FILE] [--config JSON]");
  const r = await lintPlaybookFile(file);
  if (!r.playbook) {
    console.error(`ccm: ${file} is not a valid playbook:\n  ${r.problems.join("\n  ")}`);
    process.exitCode = 1;
    return;
  }
  const alert = alertSchema.safeParse(await readJsonArg(values.alert));
  if (!alert.success) throw new UsageError(`--alert must be {"labels": {...}, "annotations"?: {...}}: ${alert.error.issues[0]?.message}`);
  const agentFile = values["agent-config"] ? (parseYaml(await readFile(values["agent-config"], "utf8")) as { actions?: unknown } | null) : null;
  const actions = createHostActions(agentFile?.actions ?? {});
  const playbook = compileYamlPlaybook(r.playbook) as Playbook<unknown, unknown>;
  const match = playbook.match(alert.data.labels);
  if (!match) {
    console.log(`${playbook.name} does not match this alert (labels ${JSON.stringify(alert.data.labels)})`);
    process.exitCode = 1;
    return;
  }
  const config = playbook.configSchema.parse(values.config ? await readJsonArg(values.config) : {});
  const { ctx, steps } = memoryContext(config, alert.data.labels, { actions, dryRun: true });
  ctx.input.annotations = alert.data.annotations;
  ctx.log = silentLogger();
  const result = await runPlaybook(playbook, ctx, memoryHooks({ successes: 0, failures: 0 }), engineOptions({ match }));
  if (values.json) {
    console.log(JSON.stringify({ result, steps }, null, 2));
    return;
  }
  console.log(`${playbook.name} ${playbook.version}: ${match.reason}`);
  for (const s of steps) console.log(`  [${s.phase}] ${s.action} ${JSON.stringify(s.args)} -> ${s.outcome?.status ?? "error"}${s.outcome?.detail ? `: ${s.outcome.detail}` : ""}`);
  if (result.confidence) console.log(`confidence ${result.confidence.explanation}`);
  if (result.proposal.length) console.log(`would propose: ${result.proposal.map((p) => `${p.action} ${p.target}`).join("; ")}`);
  console.log(`result (dry run): ${result.status}: ${result.summary}`);
}
