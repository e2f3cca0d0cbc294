import os from "node:os";
import path from "node:path";
import { createLogger } from "@ccm/logger";
import { parseHubConfig, startHub } from "@ccm/hub";
import { agentPlaybooks, loadAgentConfig, parseAgentConfig, startAgent } from "@ccm/agent";
import { OperatorConfigError, resolveDatabase } from "../database.ts";
import { onShutdown } from "../lifecycle.ts";

/**
 * Everything on one machine: the database (embedded unless DATABASE_URL is set), the hub, and one
 * agent for this host in dry-run mode, so a first run changes nothing on the machine.
 */
export async function upCommand(env: NodeJS.ProcessEnv): Promise<void> {
  if (env.SUPABASE_URL) {
    // Hub and demo agent would split across Supabase and a local database: refuse rather than guess.
    throw new OperatorConfigError(
      "SUPABASE_URL: `ccm up` is the one-machine demo on Postgres (embedded, or DATABASE_URL); against Supabase run `ccm hub` and `ccm agent` (docs/supabase.md)",
    );
  }
  const log = createLogger("ccm");
  const hubConfig = parseHubConfig(env);
  const playbooks = agentPlaybooks(env);
  console.error(env.DATABASE_URL ? "using DATABASE_URL" : `starting the embedded Postgres under ${env.CCM_HOME || ".ccm"}/postgres …`);
  const db = await resolveDatabase(env);
  const hub = await startHub(hubConfig, db.url, log.child({ app: "hub" }));
  const agentEnv = { ...env, DATABASE_URL: db.url };
  // The local demo keeps the agent's lock and journal beside the embedded database, not in /var/lib/ccm.
  process.env.CCM_STATE_DIR ??= path.resolve(env.CCM_HOME || ".ccm", "agent");
  const agentConfig = env.CCM_AGENT_CONFIG
    ? await loadAgentConfig(agentEnv, playbooks)
    : parseAgentConfig(
        {
          dry_run: true,
          playbooks: { "disk-full": { log_dirs: ["/var/log"], temp_dirs: ["/tmp", "/var/tmp"] } },
        },
        playbooks,
        agentEnv,
        "ccm up defaults",
      );
  const agent = await startAgent(agentConfig, playbooks, log.child({ app: "agent" }));

  const sample = {
    version: "4",
    groupKey: "{}:{alertname=\"NodeFilesystemAlmostOutOfSpace\"}",
    truncatedAlerts: 0,
    status: "firing",
    receiver: "ccm",
    groupLabels: { alertname: "NodeFilesystemAlmostOutOfSpace" },
    commonLabels: {},
    commonAnnotations: {},
    externalURL: "http://alertmanager.example:9093",
    alerts: [
      {
        status: "firing",
        labels: { alertname: "NodeFilesystemAlmostOutOfSpace", instance: `${agentConfig.host}:9100`, mountpoint: "/", severity: "warning" },
        annotations: { summary: "Filesystem / has less than 5% space left" },
        startsAt: new Date().toISOString(),
        endsAt: "0001-01-01T00:00:00Z",
        generatorURL: "http://prometheus.example:9090/graph",
        fingerprint: `demo${Date.now().toString(16)}`,
      },
    ],
  };
  const auth = hubConfig.CCM_WEBHOOK_TOKEN ? ` -H 'Authorization: Bearer ${"$"}CCM_WEBHOOK_TOKEN'` : "";
  console.error(
    [
      "",
      `CCM is up: hub ${hub.url}, agent "${agentConfig.host}" (${agentConfig.dry_run ? "dry run: it changes nothing" : "LIVE"}), database ${db.kind}.`,
      "Send a sample disk-space alert:",
      "",
      `  curl -sS -X POST ${hub.url}/v1/webhooks/alertmanager -H 'Content-Type: application/json'${auth} -d '${JSON.stringify(sample)}'`,
      "",
      "Then look at what the agent did:  pnpm ccm tasks list   and   pnpm ccm tasks show <id>",
      `Stop with Ctrl-C. (host ${os.hostname()})`,
      "",
    ].join("\n"),
  );
  onShutdown(async () => {
    await agent.stop();
    await hub.close();
    await db.stop();
  });
}
