import { z } from "zod";
import { toDb, type DbLike } from "@ccm/store";

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
  created_at: z.coerce.date(),
});
export type Notification = z.infer<typeof notificationSchema>;

/** Claim ready notifications for `worker` (SKIP LOCKED + lease), oldest first. */
export async function claimNotifications(
  db: DbLike,
  worker: string,
  options: { limit: number; leaseSeconds: number; coalesceMs: number },
): Promise<Notification[]> {
  const rows = await toDb(db).call<unknown[]>("claim_notifications", {
    p_worker: worker,
    p_limit: options.limit,
    p_lease_seconds: options.leaseSeconds,
    p_coalesce_seconds: options.coalesceMs / 1000,
  });
  return z.array(notificationSchema).parse(rows).sort((a, b) => a.id - b.id);
}

/** Mark delivered (or skipped with a reason); false when the lease was lost to another worker. */
export async function completeNotification(
  db: DbLike,
  id: number,
  worker: string,
  result: Record<string, unknown> | null,
  status: "sent" | "skipped" = "sent",
): Promise<boolean> {
  const ok = await toDb(db).call("complete_notification", { p_id: id, p_worker: worker, p_result: result, p_status: status });
  return ok === true;
}

/** Retry at `retryAt`, or keep as `failed` when `retryAt` is null. */
export async function failNotification(
  db: DbLike,
  id: number,
  worker: string,
  error: string,
  retryAt: Date | null,
  countAttempt = true,
): Promise<boolean> {
  const ok = await toDb(db).call("fail_notification", {
    p_id: id,
    p_worker: worker,
    p_error: error,
    p_retry_at: retryAt?.toISOString() ?? null,
    p_count_attempt: countAttempt,
  });
  return ok === true;
}
