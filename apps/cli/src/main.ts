#!/usr/bin/env node
import { ConfigError } from "@ccm/schemas";
import { DatabaseUnavailableError, MigrationError, SupabaseCallError, TaskNotFoundError, refusalMessage } from "@ccm/store";
import { UsageError } from "./args.ts";
import { agentCommand } from "./commands/agent.ts";
import { alertsCommand } from "./commands/alerts.ts";
import { agentCheckCommand } from "./commands/agent-check.ts";
import { agentTokenCommand } from "./commands/agent-tokens.ts";
import { keysCommand } from "./commands/keys.ts";
import { dbCommand } from "./commands/db.ts";
import { digestCommand } from "./commands/digest.ts";
import { hubCommand } from "./commands/hub.ts";
import { tasksCommand } from "./commands/tasks.ts";
import { upCommand } from "./commands/up.ts";
import { decideCommand } from "./commands/approve.ts";
import { pauseCommand } from "./commands/pause.ts";
import { playbooksCommand } from "./commands/playbooks.ts";
import { broadcastCommand } from "./commands/broadcast.ts";

const USAGE = `ccm — fleet auto-remediation

usage:
  ccm up                         database (embedded unless DATABASE_URL) + hub + a dry-run agent for this host
  ccm hub                        the hub: webhooks and API on CCM_HUB_PORT (8080)
  ccm agent                      the agent for this host (config: CCM_AGENT_CONFIG)
  ccm agent check [--json]       validate this host before starting the agent (exit 1 on any ✗)
  ccm agent enroll <host> [--out FILE] [--label k=v]   issue a host's token (shown once)
  ccm agent rotate <host> [--out FILE]                 replace it; the old one fails at once
  ccm agent revoke <host>                              the host's next call fails
  ccm keys generate [--out-dir DIR] [--name NAME]      ed25519 operator key for signed ad-hoc commands
  ccm db migrate                 apply pending migrations (a second run is a no-op)
  ccm tasks list [--json] [--status S] [--host H] [--limit N]
  ccm tasks show <id> [--json]
  ccm approve <run> [--reason R] [--by NAME]       let a run waiting at awaiting_approval proceed (first decision wins)
  ccm reject <run> [--reason R] [--by NAME]        refuse it: run and task are cancelled
  ccm pause [--reason R] | ccm resume | ccm pause --status   fleet-wide remediation switch
  ccm playbooks lint <dir|file>...                 validate operator YAML playbooks
  ccm playbooks test <file> --alert <json|@file>   dry run: what the playbook would do for this alert
  ccm playbooks schema                             JSON Schema of the playbook format
  ccm alerts list [--json] [--source S] [--host H] [--status firing|resolved] [--limit N]
  ccm alerts show <id> [--json]   what arrived (raw payload) and what it became (task, incident)
  ccm broadcast <playbook> --select k=v [--hosts G] [--param k=v] [--canary 1] [--batch 10%] [--max-failures 2%] [--dry-run]
  ccm broadcast command (--select k=v|--hosts G|--all) --key FILE [--expires 15m] -- ARGV...   signed ad-hoc command
  ccm broadcast list | show <id> [--watch] | pause|resume|cancel <id>   fleet broadcasts (docs/broadcast.md)
  ccm digest [--since 12h] [--dry-run] [--json]   the morning digest for a period; without --dry-run also queued for Slack
`;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case "up":
      return upCommand(process.env);
    case "hub":
      return hubCommand(process.env);
    case "agent":
      if (rest[0] === "check") return agentCheckCommand(rest.slice(1), process.env);
      if (rest[0] === "enroll" || rest[0] === "rotate" || rest[0] === "revoke") return agentTokenCommand(rest[0], rest.slice(1), process.env);
      return agentCommand(process.env);
    case "keys":
      return keysCommand(rest);
    case "db":
      return dbCommand(rest, process.env);
    case "tasks":
      return tasksCommand(rest, process.env);
    case "approve":
      return decideCommand("approved", rest, process.env);
    case "reject":
      return decideCommand("rejected", rest, process.env);
    case "pause":
      return pauseCommand(true, rest, process.env);
    case "resume":
      return pauseCommand(false, rest, process.env);
    case "playbooks":
      return playbooksCommand(rest);
    case "alerts":
      return alertsCommand(rest, process.env);
    case "broadcast":
      return broadcastCommand(rest, process.env);
    case "digest":
      return digestCommand(rest, process.env);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      console.log(USAGE);
      return;
    default:
      throw new UsageError(`unknown command ${command}`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof UsageError) {
    console.error(`ccm: ${err.message}\n\n${USAGE}`);
    process.exit(2);
  }
  // Errors whose message is the whole story (a second agent on this host, a bad config, ...).
  const known = ["AlreadyRunningError", "PlaybookLoadError", "OperatorConfigError"];
  if (err instanceof Error && known.includes(err.name)) {
    console.error(`ccm: ${err.message}`);
    process.exit(1);
  }
  if (err instanceof ConfigError || err instanceof TaskNotFoundError || err instanceof MigrationError) {
    console.error(`ccm: ${err.message}`);
    process.exit(1);
  }
  if (err instanceof SupabaseCallError) {
    // 401: the gateway did not take the key at all; anything else is the database's own refusal.
    console.error(
      err.status === 401
        ? `ccm: ${process.env.SUPABASE_URL ?? "Supabase"} refused SUPABASE_SERVICE_ROLE_KEY (${refusalMessage(err)}): use the project's service_role key`
        : `ccm: ${refusalMessage(err)}`,
    );
    process.exit(1);
  }
  if (err instanceof DatabaseUnavailableError) {
    console.error(`ccm: database unavailable: ${(err.cause as Error | undefined)?.message ?? err.message}`);
    process.exit(1);
  }
  console.error("ccm: unexpected error:", err);
  process.exit(1);
});
