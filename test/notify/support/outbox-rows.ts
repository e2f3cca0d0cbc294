import type { Pool } from "@ccm/store";

export interface OutboxRow {
  id: number;
  channel: string;
  kind: string;
  dedup_key: string;
  incident_key: string | null;
  status: string;
  attempts: number;
  last_error: string | null;
  result: Record<string, unknown> | null;
}

export async function outbox(pool: Pool, where = "true"): Promise<OutboxRow[]> {
  const { rows } = await pool.query(
    `select id::int, channel, kind, dedup_key, incident_key, status, attempts, last_error, result from ccm.notifications where ${where} order by id`,
  );
  return rows as OutboxRow[];
}

/** True once nothing is pending or being sent. */
export async function outboxDrained(pool: Pool): Promise<boolean> {
  const { rows } = await pool.query("select count(*)::int as n from ccm.notifications where status in ('pending', 'sending')");
  return rows[0].n === 0;
}
