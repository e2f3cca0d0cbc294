import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { z } from "zod";
import { toDb, type DbLike } from "@ccm/store";

// What ccm.hub_metrics_snapshot() returns (supabase/migrations/20261123189000_add_hub_service_functions.sql).
const count = z.coerce.number();
const metricsSnapshotSchema = z.object({
  tasks: z.array(z.object({ status: z.string(), n: count })),
  runs: z.array(z.object({ status: z.string(), n: count })),
  oldest_queued_s: z.number().nullable(),
  agents: z.array(z.object({ host: z.string(), age: z.number().nullable() })),
  outbox: z.array(z.object({ channel: z.string(), status: z.string(), n: count })),
  bands: z.array(z.object({ band: z.string().nullable(), n: count })),
  budget_blocks: z.array(z.object({ playbook: z.string().nullable(), n: count })),
  claim_latency: z.object({ p50: z.number().nullable(), p99: z.number().nullable() }).nullable(),
});
type MetricsSnapshot = z.infer<typeof metricsSnapshotSchema>;

/** The hub's Prometheus metrics. Database-derived gauges are read at scrape time, so every replica reports the same truth. */
export function createHubMetrics(source: DbLike) {
  const db = toDb(source);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "ccm_hub_" });

  const webhooks = new Counter({
    name: "ccm_webhooks_total",
    help: "Webhook deliveries by source and HTTP outcome",
    labelNames: ["source", "code"] as const,
    registers: [registry],
  });
  const alerts = new Counter({
    name: "ccm_alerts_ingested_total",
    help: "Alerts ingested, by source and what became of them (created, duplicate, unrouted, ...)",
    labelNames: ["source", "outcome"] as const,
    registers: [registry],
  });
  const ingestSeconds = new Histogram({
    name: "ccm_ingest_duration_seconds",
    help: "Webhook handling time, from request to committed answer",
    labelNames: ["source"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const leaseRecoveries = new Counter({
    name: "ccm_lease_recoveries_total",
    help: "Runs recovered after their agent stopped renewing the lease, by outcome (requeued, unknown)",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });

  const tasks = new Gauge({ name: "ccm_tasks", help: "Tasks by status", labelNames: ["status"] as const, registers: [registry] });
  const runs = new Gauge({ name: "ccm_runs", help: "Runs by status", labelNames: ["status"] as const, registers: [registry] });
  const oldestQueued = new Gauge({
    name: "ccm_queue_oldest_run_age_seconds",
    help: "Age of the oldest queued run (0 when none): a stuck queue grows this",
    registers: [registry],
  });
  const agentsSeen = new Gauge({
    name: "ccm_agent_heartbeat_age_seconds",
    help: "Seconds since each agent was last seen",
    labelNames: ["host"] as const,
    registers: [registry],
  });
  const dbUp = new Gauge({ name: "ccm_hub_database_up", help: "1 when the last scrape could query the database", registers: [registry] });
  const outbox = new Gauge({
    name: "ccm_notifications",
    help: "Notification outbox rows by channel and status (pending/sending = depth, failed = permanent failures)",
    labelNames: ["channel", "status"] as const,
    registers: [registry],
  });
  const budgets = new Gauge({
    name: "ccm_remediation_budget_blocks_1h",
    help: "Remediations stopped by a remediation budget in the last hour, by playbook",
    labelNames: ["playbook"] as const,
    registers: [registry],
  });
  const claimLatency = new Gauge({
    name: "ccm_claim_latency_seconds",
    help: "Queued -> claimed latency of runs claimed in the last 5 minutes, by quantile",
    labelNames: ["quantile"] as const,
    registers: [registry],
  });
  const bands = new Gauge({
    name: "ccm_runs_by_confidence_band",
    help: "Runs of the last 24 h by confidence band (auto, approve, escalate)",
    labelNames: ["band"] as const,
    registers: [registry],
  });

  /** Refresh the database-derived gauges; a database outage sets ccm_hub_database_up 0 instead of failing the scrape. */
  async function collectFromDatabase(): Promise<void> {
    let snap: MetricsSnapshot;
    try {
      snap = metricsSnapshotSchema.parse(await db.call("hub_metrics_snapshot"));
    } catch {
      dbUp.set(0);
      return;
    }
    tasks.reset();
    for (const row of snap.tasks) tasks.set({ status: row.status }, row.n);
    runs.reset();
    for (const row of snap.runs) runs.set({ status: row.status }, row.n);
    oldestQueued.set(snap.oldest_queued_s ?? 0);
    agentsSeen.reset();
    for (const row of snap.agents) agentsSeen.set({ host: row.host }, row.age ?? 0);
    outbox.reset();
    for (const row of snap.outbox) outbox.set({ channel: row.channel, status: row.status }, row.n);
    budgets.reset();
    for (const row of snap.budget_blocks) budgets.set({ playbook: row.playbook ?? "unknown" }, row.n);
    claimLatency.reset();
    if (snap.claim_latency?.p50 != null) claimLatency.set({ quantile: "0.5" }, snap.claim_latency.p50);
    if (snap.claim_latency?.p99 != null) claimLatency.set({ quantile: "0.99" }, snap.claim_latency.p99);
    bands.reset();
    for (const row of snap.bands) if (row.band) bands.set({ band: row.band }, row.n);
    dbUp.set(1);
  }

  return { registry, webhooks, alerts, ingestSeconds, leaseRecoveries, collectFromDatabase };
}

export type HubMetrics = ReturnType<typeof createHubMetrics>;
