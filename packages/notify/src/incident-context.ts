import { z } from "zod";
import type { Pool } from "@ccm/store";

const stepSchema = z.object({
  phase: z.string(),
  action: z.string(),
  status: z.string(),
  detail: z.string().nullable(),
});
export type StepLine = z.infer<typeof stepSchema>;

/** What a message needs to say about a task and (optionally) one of its runs. */
export const incidentContextSchema = z.object({
  task_id: z.string(),
  host: z.string().nullable(),
  alertname: z.string().nullable(),
  labels: z.record(z.string(), z.unknown()),
  annotations: z.record(z.string(), z.unknown()),
  task_status: z.string(),
  task_summary: z.string().nullable(),
  task_created_at: z.date(),
  resolved_at: z.date().nullable(),
  run_id: z.string().nullable(),
  run_status: z.string().nullable(),
  playbook: z.string().nullable(),
  dry_run: z.boolean().nullable(),
  run_summary: z.string().nullable(),
  run_error: z.string().nullable(),
  result: z.unknown(),
  confidence: z.unknown(),
  proposal: z.unknown(),
  agent_host: z.string().nullable(),
  steps: z.array(stepSchema),
  decision: z.string().nullable(),
  decided_by: z.string().nullable(),
  decision_reason: z.string().nullable(),
});
export type IncidentContext = z.infer<typeof incidentContextSchema>;

// to_jsonb(r) reads confidence/proposal whether or not the engine's columns are there.
export const incidentContextQuery = {
  sql: `select t.id as task_id, t.host, t.alertname, t.labels, t.annotations, t.status as task_status,
               t.summary as task_summary, t.created_at as task_created_at, t.resolved_at,
               r.id as run_id, r.status as run_status, r.playbook, r.dry_run, r.summary as run_summary,
               r.error as run_error, r.result, to_jsonb(r) -> 'confidence' as confidence,
               to_jsonb(r) -> 'proposal' as proposal, a.host as agent_host,
               coalesce((select jsonb_agg(jsonb_build_object('phase', s.phase, 'action', s.action, 'status', s.status,
                                                             'detail', s.detail) order by s.seq)
                           from ccm.run_steps s where s.run_id = r.id), '[]'::jsonb) as steps,
               ap.decision, ap.decided_by, ap.reason as decision_reason
          from ccm.tasks t
          left join ccm.runs r on r.id = $2
          left join ccm.agents a on a.id = r.agent_id
          left join ccm.approvals ap on ap.run_id = r.id
         where t.id = $1`,
  schema: incidentContextSchema,
};

/** Load the task (and run) a notification is about; null when the task is gone. */
export async function loadIncidentContext(pool: Pool, taskId: string, runId: string | null): Promise<IncidentContext | null> {
  const { rows } = await pool.query(incidentContextQuery.sql, [taskId, runId]);
  return rows[0] ? incidentContextQuery.schema.parse(rows[0]) : null;
}

/** Labels (strings only) plus host and alertname: what routes match on. */
export function routeSubject(ctx: IncidentContext): Record<string, string | undefined> {
  const subject: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(ctx.labels)) if (typeof v === "string") subject[k] = v;
  subject.host = ctx.host ?? undefined;
  subject.alertname = ctx.alertname ?? undefined;
  return subject;
}
