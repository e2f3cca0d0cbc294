#!/usr/bin/env node
import { ConfigError } from "@ccm/schemas";
import { DatabaseUnavailableError, MigrationError, TaskNotFoundError } from "@ccm/store";
import { UsageError } from "./args.ts";
import { agentCommand } from "./commands/agent.ts";
import { dbCommand } from "./commands/db.ts";
import { hubCommand } from "./commands/hub.ts";
import { tasksCommand } from "./commands/tasks.ts";
import { upCommand } from "./commands/up.ts";

const USAGE = `ccm — fleet auto-remediation

usage:
  ccm up                         database (embedded unless DATABASE_URL) + hub + a dry-run agent for this host
  ccm hub                        the hub: webhooks and API on CCM_HUB_PORT (8080)
  ccm agent                      the agent for this host (config: CCM_AGENT_CONFIG)
  ccm db migrate                 apply pending migrations (a second run is a no-op)
  ccm tasks list [--json] [--status S] [--host H] [--limit N]
  ccm tasks show <id> [--json]
`;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case "up":
      return upCommand(process.env);
    case "hub":
      return hubCommand(process.env);
    case "agent":
      return agentCommand(process.env);
    case "db":
      return dbCommand(rest, process.env);
    case "tasks":
      return tasksCommand(rest, process.env);
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
  if (err instanceof ConfigError || err instanceof TaskNotFoundError || err instanceof MigrationError) {
    console.error(`ccm: ${err.message}`);
    process.exit(1);
  }
  if (err instanceof DatabaseUnavailableError) {
    console.error(`ccm: database unavailable: ${(err.cause as Error | undefined)?.message ?? err.message}`);
    process.exit(1);
  }
  console.error("ccm: unexpected error:", err);
  process.exit(1);
});
