import { z } from "zod";
import type pg from "pg";
import { classifyDatabaseError } from "./errors.ts";

// What arrived from each source and what it became. Each query sits next to its row schema.

const alertRow = z.object({
  id: z.coerce.number(),
  received_at: z.date(),
  source: z.string(),
  status: z.string(),
  host: z.string().nullable(),
  alertname: z.string().nullable(),
  outcome: z.string(),
  receive_count: z.number(),
  raw_truncated: z.boolean(),
  task_id: z.string().nullable(),
  task_status: z.string().nullable(),
});
export type AlertRow = z.infer<typeof alertRow>;

export const listAlertsQuery = {
  sql: `select a.id, a.received_at, a.source, a.status, a.host, a.alertname, a.outcome, a.receive_count,
               a.raw_truncated, a.task_id, t.status as task_status
          from ccm.alerts a left join ccm.tasks t on t.id = a.task_id
         where ($1::text is null or a.source = $1)
           and ($2::text is null or lower(a.host) = lower($2))
           and ($3::text is null or a.status = $3)
         order by a.id desc
         limit $4`,
  schema: alertRow,
};

const alertDetailRow = alertRow.extend({
  fingerprint: z.string(),
  labels: z.record(z.string(), z.unknown()),
  annotations: z.record(z.string(), z.unknown()),
  starts_at: z.date().nullable(),
  ends_at: z.date().nullable(),
  last_received_at: z.date(),
  generator_url: z.string().nullable(),
  group_key: z.string().nullable(),
  condition_key: z.string().nullable(),
  raw: z.unknown(),
  task_summary: z.string().nullable(),
  task_alert_count: z.number().nullable(),
  task_flapping: z.boolean().nullable(),
  incident_id: z.string().nullable(),
  incident_status: z.string().nullable(),
  incident_host_count: z.number().nullable(),
});
export type AlertDetail = z.infer<typeof alertDetailRow>;

export const alertDetailQuery = {
  sql: `select a.id, a.received_at, a.source, a.status, a.host, a.alertname, a.outcome, a.receive_count,
               a.raw_truncated, a.task_id, t.status as task_status, a.fingerprint, a.labels, a.annotations,
               a.starts_at, a.ends_at, a.last_received_at, a.generator_url, a.group_key, a.condition_key, a.raw,
               t.summary as task_summary, t.alert_count as task_alert_count, t.flapping as task_flapping,
               i.id as incident_id, i.status as incident_status, i.host_count as incident_host_count
          from ccm.alerts a
          left join ccm.tasks t on t.id = a.task_id
          left join ccm.incidents i on i.id = t.incident_id
         where a.id = $1`,
  schema: alertDetailRow,
};

export class AlertNotFoundError extends Error {
  override readonly name = "AlertNotFoundError";
  constructor(readonly alertId: string) {
    super(`no alert with id ${alertId}`);
  }
}

export async function listAlerts(
  pool: pg.Pool,
  filter: { source?: string; host?: string; status?: string; limit?: number } = {},
): Promise<AlertRow[]> {
  try {
    const { rows } = await pool.query(listAlertsQuery.sql, [filter.source ?? null, filter.host ?? null, filter.status ?? null, filter.limit ?? 50]);
    return rows.map((r) => listAlertsQuery.schema.parse(r));
  } catch (err) {
    throw classifyDatabaseError(err);
  }
}

/** One received alert with its raw payload and the task (and incident) it became. */
export async function getAlert(pool: pg.Pool, id: string): Promise<AlertDetail> {
  if (!/^\d{1,18}$/.test(id)) throw new AlertNotFoundError(id);
  try {
    const { rows } = await pool.query(alertDetailQuery.sql, [id]);
    if (rows.length === 0) throw new AlertNotFoundError(id);
    return alertDetailQuery.schema.parse(rows[0]);
  } catch (err) {
    throw classifyDatabaseError(err);
  }
}
