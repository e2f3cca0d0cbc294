import { z } from "zod";
import type { Pool } from "@ccm/store";
import { classifyDatabaseError } from "@ccm/store";

export const notificationSchema = z.object({
  id: z.coerce.number(),
  channel: z.enum(["slack", "pagerduty"]),
  kind: z.string(),
  dedup_key: z.string(),
  incident_key: z.string().nullable(),
  coalesce_key: z.string().nullable(),
  task_id: z.string().nullable(),
  run_id: z.string().nullable(),
  payload: z.record(z.string(), z.unknown()),
  status: z.string(),
  attempts: z.number(),
  created_at: z.date(),
});
export type Notification = z.infer<typeof notificationSchema>;

/** Claim ready notifications for `worker` (SKIP LOCKED + lease). */
export async function claimNotifications(
  pool: Pool,
  worker: string,
  options: { limit: number; leaseSeconds: number; coalesceMs: number },
): Promise<Notification[]> {
  try {
    const { rows } = await pool.query("select * from ccm.claim_notifications($1, $2, $3, $4) order by id", [
      worker,
      options.limit,
      options.leaseSeconds,
      options.coalesceMs / 1000,
    ]);
    return rows.map((r) => notificationSchema.parse(r));
  } catch (err) {
    throw classifyDatabaseError(err);
  }
}

/** Mark delivered (or skipped with a reason); false when the lease was lost to another worker. */
export async function completeNotification(
  pool: Pool,
  id: number,
  worker: string,
  result: Record<string, unknown> | null,
  status: "sent" | "skipped" = "sent",
): Promise<boolean> {
  const { rows } = await pool.query("select ccm.complete_notification($1, $2, $3, $4) as ok", [
    id,
    worker,
    result === null ? null : JSON.stringify(result),
    status,
  ]);
  return rows[0]?.ok === true;
}

/** Retry at `retryAt`, or keep as `failed` when `retryAt` is null. */
export async function failNotification(
  pool: Pool,
  id: number,
  worker: string,
  error: string,
  retryAt: Date | null,
  countAttempt = true,
): Promise<boolean> {
  const { rows } = await pool.query("select ccm.fail_notification($1, $2, $3, $4, $5) as ok", [
    id,
    worker,
    error,
    retryAt,
    countAttempt,
  ]);
  return rows[0]?.ok === true;
}
