import { z } from "zod";
import { toDb, type DbLike } from "./db.ts";
import { isoDate } from "./iso-date.ts";

// What arrived from each source and what it became. Each ccm.op_* function sits next to its row schema.

const alertRow = z.object({
  id: z.coerce.number(),
  received_at: isoDate,
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

export const listAlertsQuery = { fn: "op_list_alerts", schema: z.array(alertRow) };

const alertDetailRow = alertRow.extend({
  fingerprint: z.string(),
  labels: z.record(z.string(), z.unknown()),
  annotations: z.record(z.string(), z.unknown()),
  starts_at: isoDate.nullable(),
  ends_at: isoDate.nullable(),
  last_received_at: isoDate,
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

/** ccm.op_alert_detail: one row, or none for an unknown id. */
export const alertDetailQuery = { fn: "op_alert_detail", schema: z.array(alertDetailRow).max(1) };

export class AlertNotFoundError extends Error {
  override readonly name = "AlertNotFoundError";
  constructor(readonly alertId: string) {
    super(`no alert with id ${alertId}`);
  }
}

export async function listAlerts(
  db: DbLike,
  filter: { source?: string; host?: string; status?: string; limit?: number } = {},
): Promise<AlertRow[]> {
  const rows = await toDb(db).call(listAlertsQuery.fn, {
    p_source: filter.source ?? null,
    p_host: filter.host ?? null,
    p_status: filter.status ?? null,
    p_limit: filter.limit ?? 50,
  });
  return listAlertsQuery.schema.parse(rows);
}

/** One received alert with its raw payload and the task (and incident) it became. */
export async function getAlert(db: DbLike, id: string): Promise<AlertDetail> {
  if (!/^\d{1,18}$/.test(id)) throw new AlertNotFoundError(id);
  const [row] = alertDetailQuery.schema.parse(await toDb(db).call(alertDetailQuery.fn, { p_id: id }));
  if (!row) throw new AlertNotFoundError(id);
  return row;
}
