import { readFile } from "node:fs/promises";
import os from "node:os";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ConfigError, parseConfigOrThrow } from "@ccm/schemas";
import { hostActionsConfigSchema, loadOperatorPlaybooks, PlaybookLoadError, type HostActionsConfig, type Playbook } from "@ccm/playbooks";
import { resolveAgentTransport, type AgentTransportSettings } from "./transport-config.ts";

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
    // Supabase project URL: selects the supabase transport (SUPABASE_URL wins).
    supabase_url: z.string().url().optional(),
    // The project's anon key (public by design); agents never hold the service-role key (SUPABASE_ANON_KEY wins).
    supabase_anon_key: z.string().min(20).optional(),
    // File holding this agent's token from `ccm agent enroll` (CCM_AGENT_TOKEN / CCM_AGENT_TOKEN_FILE win).
    token_file: z.string().min(1).optional(),
    // Supabase wake-ups: broadcast (needs realtime.send) or postgres_changes; polling runs either way.
    realtime: z.enum(["broadcast", "postgres_changes"]).optional(),
    // Operator public keys (ed25519, PEM) whose signatures make ad-hoc commands acceptable.
    trusted_command_keys: z.array(z.string().min(1)).optional(),
    // Timeout of one signed ad-hoc command (ms); the process is killed after it and the run fails.
    command_timeout_ms: z.number().int().min(1_000).max(3_600_000).default(60_000),
    // Local state (lock, journal, seen signed-command nonces); must survive restarts. Default CCM_STATE_DIR, else /var/lib/ccm.
    state_dir: z.string().min(1).optional(),
    // Prometheus /metrics of this agent; 0 turns it off. Loopback by default: Prometheus on the host or a tunnel.
    metrics_port: z.number().int().min(0).max(65535).default(9464),
    // Above this resident memory the agent stops claiming, hands back its run and exits 75 so systemd restarts it.
    max_rss_mb: z.number().int().min(64).default(400),
    // Interface of the metrics endpoint (0.0.0.0 to let a central Prometheus scrape it).
    metrics_host: z.string().min(1).default("127.0.0.1"),
    // What playbooks may touch on this host (services allow-list, commands, log roots); validated below.
    actions: z.unknown().optional(),
    // Folders of operator YAML playbooks (see docs/playbooks.md); an invalid file stops the agent at start.
    playbook_dirs: z.array(z.string().refine((p) => p.startsWith("/"), { error: "must be an absolute path" })).default([]),
    // Track-record key: outcomes are counted per playbook x alert class x host group. Default: label `group`, else "default".
    host_group: z.string().min(1).max(100).optional(),
    // While this file exists the agent diagnoses but changes nothing (checked before every remediation step).
    stop_file: z.string().refine((p) => p.startsWith("/"), { error: "must be an absolute path" }).default("/etc/ccm/STOP"),
    // Safety-rail waits: how often to re-check, and how long to wait for a concurrency slot or a maintenance window.
    rails: z
      .object({
        recheck_ms: z.number().int().min(50).max(600_000).default(5_000),
        concurrency_wait_ms: z.number().int().min(0).default(5 * 60_000),
        maintenance_wait_ms: z.number().int().min(0).default(6 * 3_600_000),
      })
      .strict()
      .default({ recheck_ms: 5_000, concurrency_wait_ms: 5 * 60_000, maintenance_wait_ms: 6 * 3_600_000 }),
  })
  .strict();

export type AgentFileConfig = z.infer<typeof agentFileSchema>;

// Resolved into `transport`, `trustedCommandKeys` and `stateDir` (see transport-config.ts).
type TransportKeys = "supabase_url" | "supabase_anon_key" | "token_file" | "realtime" | "trusted_command_keys" | "state_dir";

// Engine keys are optional in AgentConfig so a config built by hand (bench) keeps working; startAgent fills defaults.
type EngineKeys = "actions" | "host_group" | "stop_file" | "rails" | "playbook_dirs";

export interface AgentConfig extends Omit<AgentFileConfig, "playbooks" | "database_url" | EngineKeys | TransportKeys> {
  /** Postgres transport's URL; "" when `transport` selects Supabase. */
  databaseUrl: string;
  /** How to reach the hub's state; absent means postgres at databaseUrl without a token. */
  transport?: AgentTransportSettings;
  /** PEM ed25519 public keys trusted for signed ad-hoc commands. */
  trustedCommandKeys?: string[];
  stateDir?: string;
  /** What playbooks may touch on this host (`actions:`). */
  actions?: HostActionsConfig;
  /** Track-record key (`host_group`, else label `group`, else "default"). */
  hostGroup?: string;
  stop_file?: string;
  rails?: AgentFileConfig["rails"];
  /** Operator YAML playbooks loaded from playbook_dirs (loadAgentConfig); startAgent offers them too. */
  operatorPlaybooks?: Playbook<unknown, unknown>[];
  /** Validated settings per playbook name (defaults filled in for playbooks with no section). */
  playbookConfig: Record<string, unknown>;
}

/** Validate the file's content, each playbook section with its playbook's schema, and resolve the database. */
export function parseAgentConfig(
  raw: unknown,
  playbooks: Playbook<unknown, unknown>[],
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
  const actions = hostActionsConfigSchema.safeParse(file.actions ?? {});
  if (!actions.success) {
    for (const i of actions.error.issues) issues.push(`actions${i.path.length ? "." + i.path.join(".") : ""}: ${i.message}`);
  }
  const transport = resolveAgentTransport(file, env, issues);
  if (issues.length > 0 || !transport) throw new ConfigError(source, issues);
  const { playbooks: _p, database_url: _d, actions: _a, host_group, playbook_dirs: _pd, ...fileRest } = file;
  const { supabase_url: _su, supabase_anon_key: _sk, token_file: _tf, realtime: _rt, trusted_command_keys, state_dir, ...rest } = fileRest;
  return {
    ...rest,
    databaseUrl: transport.kind === "postgres" ? transport.databaseUrl : "",
    transport,
    ...(trusted_command_keys ? { trustedCommandKeys: trusted_command_keys } : {}),
    ...(state_dir ? { stateDir: state_dir } : {}),
    playbookConfig,
    actions: actions.data as HostActionsConfig,
    hostGroup: host_group ?? file.labels.group ?? "default",
  };
}

/** Read CCM_AGENT_CONFIG (YAML). No file configured: defaults only. */
export async function loadAgentConfig(
  env: Record<string, string | undefined>,
  playbooks: Playbook<unknown, unknown>[],
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
  // Operator playbooks first: their config sections are validated like the built-ins'.
  const dirs = (raw as { playbook_dirs?: unknown } | null)?.playbook_dirs;
  let operator: Playbook<unknown, unknown>[] = [];
  if (Array.isArray(dirs) && dirs.length > 0) {
    try {
      operator = await loadOperatorPlaybooks(dirs.map(String), playbooks.map((p) => p.name));
    } catch (err) {
      if (err instanceof PlaybookLoadError) throw new ConfigError(file, err.problems.map((p) => `playbook_dirs: ${p}`));
      throw err;
    }
  }
  return { ...parseAgentConfig(raw, [...playbooks, ...operator], env, file), operatorPlaybooks: operator };
}
