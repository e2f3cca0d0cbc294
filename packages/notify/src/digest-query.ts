import { z } from "zod";
import { toDb, type DbLike } from "@ccm/store";

const count = z.coerce.number();
const needsHumanSchema = z.object({
  status: z.string(),
  host: z.string().nullable(),
  alertname: z.string().nullable(),
  summary: z.string().nullable(),
  task_id: z.string(),
});
const pendingApprovalSchema = z.object({ run_id: z.string(), host: z.string().nullable(), alertname: z.string().nullable(), requested_at: z.coerce.date() });

/** ccm.digest_report: every section of the digest from one call (one snapshot, one round trip). */
export const digestReportQuery = {
  fn: "digest_report",
  schema: z.object({
    alerts: z.object({ firing: count, resolved: count }),
    outcomes: z.array(z.object({ status: z.string(), playbook: z.string(), n: count, dry: count })),
    mttr: z.object({ seconds: z.coerce.number().nullable(), n: count }),
    top_hosts: z.array(z.object({ host: z.string(), n: count })),
    needs_human: z.array(needsHumanSchema),
    pending_approvals: z.array(pendingApprovalSchema),
    pending_approval_count: count,
    budgets: z.array(z.object({ playbook: z.string(), n: count })),
    broadcasts_finished: count.nullable(),
    offline_agents: z.array(z.object({ host: z.string(), last_seen: z.coerce.date() })),
    delivery_failures: count,
  }),
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
  needsHuman: Array<z.infer<typeof needsHumanSchema>>;
  pendingApprovals: Array<z.infer<typeof pendingApprovalSchema>>;
  budgetHits: Array<{ playbook: string; n: number }>;
  broadcastsFinished: number | null;
  offlineAgents: Array<{ host: string; last_seen: Date }>;
  deliveryFailures: number;
}

/** What happened between periodStart and periodEnd, read from the history tables. */
export async function buildDigest(db: DbLike, periodStart: Date, periodEnd: Date, offlineAfterS: number): Promise<Digest> {
  const report = digestReportQuery.schema.parse(
    await toDb(db).call(digestReportQuery.fn, {
      p_period_start: periodStart.toISOString(),
      p_period_end: periodEnd.toISOString(),
      p_offline_after_s: offlineAfterS,
    }),
  );
  const { outcomes, mttr } = report;

  const sum = (status: string) => outcomes.filter((o) => o.status === status).reduce((s, o) => s + o.n, 0);
  const fixed = new Map<string, number>();
  for (const o of outcomes) if (o.status === "succeeded" && o.n > o.dry) fixed.set(o.playbook, (fixed.get(o.playbook) ?? 0) + o.n - o.dry);
  return {
    periodStart,
    periodEnd,
    alerts: report.alerts,
    fixedByPlaybook: [...fixed].map(([playbook, n]) => ({ playbook, n })).sort((a, b) => b.n - a.n),
    counts: {
      succeeded: sum("succeeded") - outcomes.filter((o) => o.status === "succeeded").reduce((s, o) => s + o.dry, 0),
      dryRun: outcomes.reduce((s, o) => s + o.dry, 0),
      escalated: sum("escalated"),
      failed: sum("failed"),
      unknown: sum("unknown"),
      cancelled: sum("cancelled"),
      awaitingApproval: report.pending_approval_count,
    },
    mttrSeconds: mttr.seconds,
    topHosts: report.top_hosts,
    needsHuman: report.needs_human,
    pendingApprovals: report.pending_approvals,
    budgetHits: report.budgets,
    broadcastsFinished: report.broadcasts_finished,
    offlineAgents: report.offline_agents,
    deliveryFailures: report.delivery_failures,
  };
}
