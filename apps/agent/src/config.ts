import { readFile } from "node:fs/promises";
import os from "node:os";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ConfigError, parseConfigOrThrow } from "@ccm/schemas";
import type { Playbook } from "@ccm/playbooks";

const hostName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "must be a host name (letters, digits, '.', '_', '-')");

/** The agent's YAML file (CCM_AGENT_CONFIG). Unknown keys are errors, so a typo never silently does nothing. */
export const agentFileSchema = z
  .object({
    // Name alerts use for this host; matched against host/hostname/nodename/instance labels.
    host: hostName.default(() => os.hostname()),
    // Other names alerts may use for this host (FQDN, IP, old name).
    aliases: z.array(z.string().min(1)).default([]),
    // Free-form labels, used by broadcasts and routing selectors.
    labels: z.record(z.string(), z.string()).default({}),
    // Report what would be done, change nothing.
    dry_run: z.boolean().default(false),
    // Postgres of the hub; the DATABASE_URL environment variable wins over this.
    database_url: z.string().url().optional(),
    // Slow poll that bounds the cost of a missed NOTIFY (the issue caps it at 5 s).
    poll_interval_ms: z.number().int().min(100).max(5_000).default(5_000),
    // Lease on a claimed run; renewed every third of it. A dead agent's run returns after lease + sweep.
    lease_seconds: z.number().int().min(2).max(600).default(30),
    // How often the agent reports it is alive.
    heartbeat_interval_ms: z.number().int().min(1_000).default(15_000),
    // On SIGTERM, how long a running playbook may take to finish before it is handed back.
    shutdown_grace_ms: z.number().int().min(0).default(10_000),
    // Runs worked at the same time on this host.
    concurrency: z.number().int().min(1).max(16).default(1),
    // Per-playbook settings, validated by each playbook's own schema.
    playbooks: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

export type AgentFileConfig = z.infer<typeof agentFileSchema>;

export interface AgentConfig extends Omit<AgentFileConfig, "playbooks" | "database_url"> {
  databaseUrl: string;
  /** Validated settings per playbook name (defaults filled in for playbooks with no section). */
  playbookConfig: Record<string, unknown>;
}

/** Validate the file's content, each playbook section with its playbook's schema, and resolve the database. */
export function parseAgentConfig(
  raw: unknown,
  playbooks: Playbook<unknown>[],
  env: Record<string, string | undefined>,
  source: string,
): AgentConfig {
  const file = parseConfigOrThrow(agentFileSchema, raw ?? {}, source);
  const known = new Map(playbooks.map((p) => [p.name, p]));
  const issues: string[] = [];
  for (const name of Object.keys(file.playbooks)) {
    if (!known.has(name)) issues.push(`playbooks.${name}: unknown playbook (known: ${[...known.keys()].join(", ")})`);
  }
  const playbookConfig: Record<string, unknown> = {};
  for (const p of playbooks) {
    const parsed = p.configSchema.safeParse(file.playbooks[p.name] ?? {});
    if (parsed.success) playbookConfig[p.name] = parsed.data;
    else
      for (const i of parsed.error.issues) {
        const extra = i.code === "unrecognized_keys" ? ` (${(i as { keys: string[] }).keys.join(", ")})` : "";
        issues.push(`playbooks.${p.name}${i.path.length ? "." + i.path.join(".") : ""}: ${i.message}${extra}`);
      }
  }
  const databaseUrl = env.DATABASE_URL || file.database_url;
  if (!databaseUrl) issues.push("database_url: required (or set DATABASE_URL)");
  if (issues.length > 0) throw new ConfigError(source, issues);
  const { playbooks: _p, database_url: _d, ...rest } = file;
  return { ...rest, databaseUrl: databaseUrl as string, playbookConfig };
}

/** Read CCM_AGENT_CONFIG (YAML). No file configured: defaults only. */
export async function loadAgentConfig(
  env: Record<string, string | undefined>,
  playbooks: Playbook<unknown>[],
): Promise<AgentConfig> {
  const file = env.CCM_AGENT_CONFIG;
  if (!file) return parseAgentConfig({}, playbooks, env, "defaults (CCM_AGENT_CONFIG not set)");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new ConfigError(file, [`CCM_AGENT_CONFIG: cannot read ${file}: ${(err as Error).message}`]);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ConfigError(file, [`not valid YAML: ${(err as Error).message}`]);
  }
  return parseAgentConfig(raw, playbooks, env, file);
}
