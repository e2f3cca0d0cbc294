import { classifyDatabaseError, withTransaction, type Pool } from "@ccm/store";
import { buildDigest, type Digest } from "./digest-query.ts";
import { digestMessage } from "./digest-format.ts";
import { digestDue } from "./digest-schedule.ts";

export interface DigestSchedule {
  time: string;
  timeZone: string;
  offlineAfterS: number;
  channel: string;
}

export type DigestOutcome = { outcome: "not_due" | "already_sent"; day: string } | { outcome: "enqueued"; day: string; digest: Digest };

/**
 * Enqueue today's digest if it is due and no replica did it yet. The digest_runs row (unique per
 * local day) and the outbox row commit together, so restarts and replicas send it exactly once.
 */
export async function runScheduledDigest(pool: Pool, schedule: DigestSchedule, now = new Date()): Promise<DigestOutcome> {
  const { due, day } = digestDue(now, schedule.timeZone, schedule.time);
  if (!due) return { outcome: "not_due", day };
  try {
    return await withTransaction(pool, async (client) => {
      const claimed = await client.query(
        `insert into ccm.digest_runs (day, period_start, period_end)
         values ($1, coalesce((select max(d.period_end) from ccm.digest_runs d), $2::timestamptz - interval '24 hours'), $2)
         on conflict (day) do nothing
         returning period_start, period_end`,
        [day, now],
      );
      const row = claimed.rows[0] as { period_start: Date; period_end: Date } | undefined;
      if (!row) return { outcome: "already_sent" as const, day };
      const digest = await buildDigest(client, row.period_start, row.period_end, schedule.offlineAfterS);
      const message = digestMessage(digest, schedule.timeZone);
      const { rows } = await client.query("select ccm.enqueue_notification('slack', 'digest', $1, null, null, null, $2) as id", [
        `digest:${day}`,
        JSON.stringify({ channel: schedule.channel, ...message }),
      ]);
      await client.query("update ccm.digest_runs set notification_id = $2 where day = $1", [day, rows[0]?.id ?? null]);
      return { outcome: "enqueued" as const, day, digest };
    });
  } catch (err) {
    throw classifyDatabaseError(err);
  }
}

/** Enqueue an ad-hoc digest (`ccm digest` without --dry-run); does not count as the morning one. */
export async function enqueueAdhocDigest(pool: Pool, digest: Digest, channel: string, timeZone: string): Promise<number | null> {
  const message = digestMessage(digest, timeZone);
  const { rows } = await pool.query("select ccm.enqueue_notification('slack', 'digest', $1, null, null, null, $2) as id", [
    `digest:adhoc:${digest.periodEnd.toISOString()}`,
    JSON.stringify({ channel, ...message }),
  ]);
  return (rows[0]?.id as number | null) ?? null;
}
