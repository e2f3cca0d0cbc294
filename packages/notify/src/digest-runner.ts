import { z } from "zod";
import { toDb, type DbLike } from "@ccm/store";
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

// ccm.digest_period: no row once the day's digest is recorded.
const periodSchema = z.array(z.object({ period_start: z.coerce.date(), period_end: z.coerce.date() }));
// ccm.record_scheduled_digest: one row.
const recordedSchema = z.array(z.object({ outcome: z.enum(["enqueued", "already_sent"]), notification_id: z.coerce.number().nullable() }));

/**
 * Enqueue today's digest if it is due and no replica did it yet. ccm.record_scheduled_digest
 * writes the digest_runs row (unique per local day) and the outbox row in one call, so they commit
 * together and restarts and replicas send it exactly once, over PostgREST as over a pool.
 */
export async function runScheduledDigest(db: DbLike, schedule: DigestSchedule, now = new Date()): Promise<DigestOutcome> {
  const { due, day } = digestDue(now, schedule.timeZone, schedule.time);
  if (!due) return { outcome: "not_due", day };
  const d = toDb(db);
  const [period] = periodSchema.parse(await d.call("digest_period", { p_day: day, p_now: now.toISOString() }));
  if (!period) return { outcome: "already_sent", day };
  const digest = await buildDigest(d, period.period_start, period.period_end, schedule.offlineAfterS);
  const message = digestMessage(digest, schedule.timeZone);
  const [recorded] = recordedSchema.parse(
    await d.call("record_scheduled_digest", {
      p_day: day,
      p_period_start: period.period_start.toISOString(),
      p_period_end: period.period_end.toISOString(),
      p_payload: { channel: schedule.channel, ...message },
    }),
  );
  // Another replica recorded the day between our period check and now: it sends its own digest.
  if (recorded?.outcome !== "enqueued") return { outcome: "already_sent", day };
  return { outcome: "enqueued", day, digest };
}

/** Enqueue an ad-hoc digest (`ccm digest` without --dry-run); does not count as the morning one. */
export async function enqueueAdhocDigest(db: DbLike, digest: Digest, channel: string, timeZone: string): Promise<number | null> {
  const message = digestMessage(digest, timeZone);
  const id = await toDb(db).call("enqueue_notification", {
    p_channel: "slack",
    p_kind: "digest",
    p_dedup_key: `digest:adhoc:${digest.periodEnd.toISOString()}`,
    p_payload: { channel, ...message },
  });
  return z.coerce.number().nullable().parse(id);
}
