import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Pool } from "@ccm/store";

/** The hub's Prometheus metrics. Database-derived gauges are read at scrape time, so every replica reports the same truth. */
export function createHubMetrics(pool: Pool) {
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
    try {
      const [t, r, q, a] = await Promise.all([
        pool.query<{ status: string; n: string }>("select status, count(*) as n from ccm.tasks group by status"),
        pool.query<{ status: string; n: string }>("select status, count(*) as n from ccm.runs group by status"),
        pool.query<{ age: number | null }>(
          "select extract(epoch from now() - min(created_at))::float8 as age from ccm.runs where status = 'queued'",
        ),
        pool.query<{ host: string; age: number }>(
          "select host, extract(epoch from now() - last_seen)::float8 as age from ccm.agents order by host limit 5000",
        ),
      ]);
      tasks.reset();
      for (const row of t.rows) tasks.set({ status: row.status }, Number(row.n));
      runs.reset();
      for (const row of r.rows) runs.set({ status: row.status }, Number(row.n));
      oldestQueued.set(q.rows[0]?.age ?? 0);
      agentsSeen.reset();
      for (const row of a.rows) agentsSeen.set({ host: row.host }, row.age);
      // Tables of later migrations: read them when present, so the gauge set never breaks a scrape.
      const n = await pool
        .query<{ channel: string; status: string; n: string }>(
          "select channel, status, count(*) as n from ccm.notifications group by channel, status",
        )
        .catch(() => null);
      outbox.reset();
      for (const row of n?.rows ?? []) outbox.set({ channel: row.channel, status: row.status }, Number(row.n));
      const b = await pool
        .query<{ band: string | null; n: string }>(
          "select confidence->>'band' as band, count(*) as n from ccm.runs where created_at > now() - interval '24 hours' and confidence is not null group by 1",
        )
        .catch(() => null);
      const bb = await pool
        .query<{ playbook: string | null; n: string }>(
          `select r.playbook, count(*) as n from ccm.run_steps s join ccm.runs r on r.id = s.run_id
            where s.action = 'safety_rails' and s.data->>'reason' = 'budget' and s.started_at > now() - interval '1 hour'
            group by 1`,
        )
        .catch(() => null);
      budgets.reset();
      for (const row of bb?.rows ?? []) budgets.set({ playbook: row.playbook ?? "unknown" }, Number(row.n));
      const cl = await pool.query<{ p50: number | null; p99: number | null }>(
        `select percentile_cont(0.5) within group (order by extract(epoch from claimed_at - created_at))::float8 as p50,
                percentile_cont(0.99) within group (order by extract(epoch from claimed_at - created_at))::float8 as p99
           from ccm.runs where claimed_at > now() - interval '5 minutes'`,
      );
      claimLatency.reset();
      if (cl.rows[0]?.p50 != null) claimLatency.set({ quantile: "0.5" }, cl.rows[0].p50);
      if (cl.rows[0]?.p99 != null) claimLatency.set({ quantile: "0.99" }, cl.rows[0].p99);
      bands.reset();
      for (const row of b?.rows ?? []) if (row.band) bands.set({ band: row.band }, Number(row.n));
      dbUp.set(1);
    } catch {
      dbUp.set(0);
    }
  }

  return { registry, webhooks, alerts, ingestSeconds, leaseRecoveries, collectFromDatabase };
}

export type HubMetrics = ReturnType<typeof createHubMetrics>;
