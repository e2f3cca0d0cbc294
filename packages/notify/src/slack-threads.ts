import type { Pool } from "@ccm/store";

export interface SlackThread {
  channel: string;
  thread_ts: string;
}

export async function findThread(pool: Pool, incidentKey: string | null): Promise<SlackThread | null> {
  if (!incidentKey) return null;
  const { rows } = await pool.query("select channel, thread_ts from ccm.slack_threads where incident_key = $1", [incidentKey]);
  return (rows[0] as SlackThread | undefined) ?? null;
}

/** Remember the message that opened an incident's thread (the first one wins). */
export async function saveThread(pool: Pool, incidentKey: string, channel: string, ts: string): Promise<void> {
  await pool.query(
    "insert into ccm.slack_threads (incident_key, channel, thread_ts) values ($1, $2, $3) on conflict (incident_key) do nothing",
    [incidentKey, channel, ts],
  );
}

/** Where the approval request of a run was posted, to update it once decided. */
export async function findApprovalMessage(pool: Pool, runId: string): Promise<{ channel: string; ts: string } | null> {
  const { rows } = await pool.query(
    "select result ->> 'channel' as channel, result ->> 'ts' as ts from ccm.notifications where dedup_key = $1 and status = 'sent'",
    [`slack:approval:${runId}`],
  );
  const r = rows[0] as { channel: string | null; ts: string | null } | undefined;
  return r?.channel && r.ts ? { channel: r.channel, ts: r.ts } : null;
}
