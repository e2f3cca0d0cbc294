import { z } from "zod";
import { toDb, type DbLike } from "@ccm/store";

const threadSchema = z.object({ channel: z.string(), thread_ts: z.string() });
export type SlackThread = z.infer<typeof threadSchema>;

export async function findThread(db: DbLike, incidentKey: string | null): Promise<SlackThread | null> {
  if (!incidentKey) return null;
  const rows = await toDb(db).call("find_slack_thread", { p_incident_key: incidentKey });
  return z.array(threadSchema).parse(rows)[0] ?? null;
}

/** Remember the message that opened an incident's thread (the first one wins). */
export async function saveThread(db: DbLike, incidentKey: string, channel: string, ts: string): Promise<void> {
  await toDb(db).call("save_slack_thread", { p_incident_key: incidentKey, p_channel: channel, p_thread_ts: ts });
}

// `result` is what the receiver answered (Slack channel + ts, PagerDuty routing key); {} when none.
const outcomeSchema = z.object({
  status: z.string(),
  result: z.unknown().transform((r) => (r !== null && typeof r === "object" && !Array.isArray(r) ? (r as Record<string, unknown>) : {})),
});
export type NotificationOutcome = z.infer<typeof outcomeSchema>;

/** Status and receiver answer of the notification with this dedup key; null when there is none. */
export async function notificationOutcome(db: DbLike, dedupKey: string): Promise<NotificationOutcome | null> {
  const rows = await toDb(db).call("notification_outcome", { p_dedup_key: dedupKey });
  return z.array(outcomeSchema).parse(rows)[0] ?? null;
}

/** A string field of a receiver's answer (`result ->> key`), else null. */
export function resultText(outcome: NotificationOutcome, key: string): string | null {
  const v = outcome.result[key];
  return typeof v === "string" && v !== "" ? v : null;
}

/** Where the approval request of a run was posted, to update it once decided. */
export async function findApprovalMessage(db: DbLike, runId: string): Promise<{ channel: string; ts: string } | null> {
  const sent = await notificationOutcome(db, `slack:approval:${runId}`);
  if (sent?.status !== "sent") return null;
  const channel = resultText(sent, "channel");
  const ts = resultText(sent, "ts");
  return channel && ts ? { channel, ts } : null;
}
