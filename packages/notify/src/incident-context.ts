import { z } from "zod";
import { toDb, type DbLike } from "@ccm/store";

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
  task_created_at: z.coerce.date(),
  resolved_at: z.coerce.date().nullable(),
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

// One row, or none when the task is gone (ccm.notification_incident_context).
export const incidentContextQuery = { fn: "notification_incident_context", schema: z.array(incidentContextSchema) };

/** Load the task (and run) a notification is about; null when the task is gone. */
export async function loadIncidentContext(db: DbLike, taskId: string, runId: string | null): Promise<IncidentContext | null> {
  const rows = await toDb(db).call(incidentContextQuery.fn, { p_task_id: taskId, p_run_id: runId });
  return incidentContextQuery.schema.parse(rows)[0] ?? null;
}

/** Labels (strings only) plus host and alertname: what routes match on. */
export function routeSubject(ctx: IncidentContext): Record<string, string | undefined> {
  const subject: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(ctx.labels)) if (typeof v === "string") subject[k] = v;
  subject.host = ctx.host ?? undefined;
  subject.alertname = ctx.alertname ?? undefined;
  return subject;
}
