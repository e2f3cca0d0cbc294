import { z } from "zod";
import type { Pool, PoolClient } from "@ccm/store";

type Queryable = Pool | PoolClient;

const count = z.coerce.number();

// Each query sits next to the schema of its rows. $1 = period start, $2 = period end.
export const digestQueries = {
  alerts: {
    sql: `select count(*) filter (where status = 'firing') as firing, count(*) filter (where status = 'resolved') as resolved
            from ccm.alerts where received_at >= $1 and received_at < $2`,
    schema: z.object({ firing: count, resolved: count }),
  },
  outcomes: {
    sql: `select status, coalesce(playbook, '-') as playbook, count(*) as n, count(*) filter (where dry_run) as dry
            from ccm.runs
           where finished_at >= $1 and finished_at < $2
             and status in ('succeeded', 'failed', 'escalated', 'unknown', 'awaiting_approval', 'cancelled')
           group by 1, 2 order by 3 desc`,
    schema: z.object({ status: z.string(), playbook: z.string(), n: count, dry: count }),
  },
  mttr: {
    // Time from the alert's start (else the task's creation) to the run that fixed it.
    sql: `select avg(extract(epoch from r.finished_at - coalesce(t.starts_at, t.created_at))) as seconds, count(*) as n
            from ccm.runs r join ccm.tasks t on t.id = r.task_id
           where r.finished_at >= $1 and r.finished_at < $2 and r.status = 'succeeded' and not coalesce(r.dry_run, false)`,
    schema: z.object({ seconds: z.coerce.number().nullable(), n: count }),
  },
  topHosts: {
    sql: `select host, count(*) as n from ccm.tasks
           where created_at >= $1 and created_at < $2 and host is not null
           group by host order by 2 desc, 1 limit 5`,
    schema: z.object({ host: z.string(), n: count }),
  },
  needsHuman: {
    sql: `select r.status, t.host, t.alertname, coalesce(r.summary, t.summary) as summary, t.id as task_id
            from ccm.runs r join ccm.tasks t on t.id = r.task_id
           where r.finished_at >= $1 and r.finished_at < $2 and r.status in ('escalated', 'failed', 'unknown')
           order by r.finished_at desc limit 10`,
    schema: z.object({ status: z.string(), host: z.string().nullable(), alertname: z.string().nullable(), summary: z.string().nullable(), task_id: z.string() }),
  },
  pendingApprovals: {
    sql: `select a.run_id, t.host, t.alertname, a.requested_at from ccm.approvals a join ccm.tasks t on t.id = a.task_id
           where a.decision is null order by a.requested_at limit 10`,
    schema: z.object({ run_id: z.string(), host: z.string().nullable(), alertname: z.string().nullable(), requested_at: z.date() }),
  },
  pendingApprovalCount: {
    sql: `select count(*) as n from ccm.approvals where decision is null`,
    schema: z.object({ n: count }),
  },
  budgets: {
    // The engine records a rail that stopped a fix as result.blocked_by.
    sql: `select coalesce(playbook, '-') as playbook, count(*) as n from ccm.runs
           where finished_at >= $1 and finished_at < $2 and result ->> 'blocked_by' = 'budget'
           group by 1 order by 2 desc`,
    schema: z.object({ playbook: z.string(), n: count }),
  },
  broadcastsTable: {
    sql: `select to_regclass('ccm.broadcasts') is not null as present`,
    schema: z.object({ present: z.boolean() }),
  },
  broadcasts: {
    // Broadcasts are another issue's table: counted only when it exists (checked first) and records finished_at.
    sql: `select count(*) as n from ccm.broadcasts b
           where (to_jsonb(b) ->> 'finished_at')::timestamptz >= $1 and (to_jsonb(b) ->> 'finished_at')::timestamptz < $2`,
    schema: z.object({ n: z.coerce.number() }),
  },
  offlineAgents: {
    sql: `select host, last_seen from ccm.agents where last_seen < now() - make_interval(secs => $1) order by last_seen limit 20`,
    schema: z.object({ host: z.string(), last_seen: z.date() }),
  },
  deliveryFailures: {
    sql: `select count(*) as n from ccm.notifications where status = 'failed' and created_at >= $1 and created_at < $2`,
    schema: z.object({ n: count }),
  },
};

export interface Digest {
  periodStart: Date;
  periodEnd: Date;
  alerts: { firing: number; resolved: number };
  /** Real (not dry-run) fixes per playbook. */
  fixedByPlaybook: Array<{ playbook: string; n: number }>;
  counts: { succeeded: number; dryRun: number; escalated: number; failed: number; unknown: number; cancelled: number; awaitingApproval: number };
  mttrSeconds: number | null;
  topHosts: Array<{ host: string; n: number }>;
  needsHuman: Array<z.infer<typeof digestQueries.needsHuman.schema>>;
  pendingApprovals: Array<z.infer<typeof digestQueries.pendingApprovals.schema>>;
  budgetHits: Array<{ playbook: string; n: number }>;
  broadcastsFinished: number | null;
  offlineAgents: Array<{ host: string; last_seen: Date }>;
  deliveryFailures: number;
}

async function rows<S extends z.ZodType>(db: Queryable, q: { sql: string; schema: S }, params: unknown[]): Promise<Array<z.output<S>>> {
  const res = await db.query(q.sql, params);
  return res.rows.map((r: unknown) => q.schema.parse(r));
}

/** What happened between periodStart and periodEnd, read from the history tables. */
export async function buildDigest(db: Queryable, periodStart: Date, periodEnd: Date, offlineAfterS: number): Promise<Digest> {
  const p = [periodStart, periodEnd];
  const [alerts] = await rows(db, digestQueries.alerts, p);
  const outcomes = await rows(db, digestQueries.outcomes, p);
  const [mttr] = await rows(db, digestQueries.mttr, p);
  const topHosts = await rows(db, digestQueries.topHosts, p);
  const needsHuman = await rows(db, digestQueries.needsHuman, p);
  const pendingApprovals = await rows(db, digestQueries.pendingApprovals, []);
  const [pending] = await rows(db, digestQueries.pendingApprovalCount, []);
  const budgetHits = await rows(db, digestQueries.budgets, p);
  const [table] = await rows(db, digestQueries.broadcastsTable, []);
  const [broadcasts] = table?.present ? await rows(db, digestQueries.broadcasts, p) : [];
  const offlineAgents = await rows(db, digestQueries.offlineAgents, [offlineAfterS]);
  const [failures] = await rows(db, digestQueries.deliveryFailures, p);

  const sum = (status: string) => outcomes.filter((o) => o.status === status).reduce((s, o) => s + o.n, 0);
  const fixed = new Map<string, number>();
  for (const o of outcomes) if (o.status === "succeeded" && o.n > o.dry) fixed.set(o.playbook, (fixed.get(o.playbook) ?? 0) + o.n - o.dry);
  return {
    periodStart,
    periodEnd,
    alerts: alerts ?? { firing: 0, resolved: 0 },
    fixedByPlaybook: [...fixed].map(([playbook, n]) => ({ playbook, n })).sort((a, b) => b.n - a.n),
    counts: {
      succeeded: sum("succeeded") - outcomes.filter((o) => o.status === "succeeded").reduce((s, o) => s + o.dry, 0),
      dryRun: outcomes.reduce((s, o) => s + o.dry, 0),
      escalated: sum("escalated"),
      failed: sum("failed"),
      unknown: sum("unknown"),
      cancelled: sum("cancelled"),
      awaitingApproval: pending?.n ?? 0,
    },
    mttrSeconds: mttr?.seconds ?? null,
    topHosts,
    needsHuman,
    pendingApprovals,
    budgetHits,
    broadcastsFinished: broadcasts?.n ?? null,
    offlineAgents,
    deliveryFailures: failures?.n ?? 0,
  };
}
