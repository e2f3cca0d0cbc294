import type { Logger } from "@ccm/logger";
import type { DbLike } from "@ccm/store";
import { backoffMs } from "./backoff.ts";
import type { NotifyConfig } from "./config.ts";
import { DeliveryError } from "./delivery-error.ts";
import { loadIncidentContext, routeSubject, type IncidentContext } from "./incident-context.ts";
import { completeNotification, failNotification, type Notification } from "./outbox-store.ts";
import { pagerdutySeverity, sendPagerdutyEvent, type PagerdutyEvent } from "./pagerduty.ts";
import { routingKeyFor, slackChannelFor } from "./routing.ts";
import {
  approvalDecidedMessage,
  approvalRequestMessage,
  clip,
  coalescedMessage,
  genericMessage,
  resolvedMessage,
  runFinishedMessage,
  type SlackMessage,
} from "./slack-blocks.ts";
import type { SlackSender } from "./slack-sender.ts";
import { findApprovalMessage, findThread, notificationOutcome, resultText, saveThread, type SlackThread } from "./slack-threads.ts";

export type DeliveryConfig = Pick<
  NotifyConfig,
  | "CCM_SLACK_DEFAULT_CHANNEL"
  | "CCM_SLACK_ROUTES"
  | "CCM_SLACK_DIGEST_CHANNEL"
  | "CCM_PUBLIC_URL"
  | "CCM_PAGERDUTY_URL"
  | "CCM_PAGERDUTY_ROUTING_KEY"
  | "CCM_PAGERDUTY_ROUTES"
  | "CCM_NOTIFY_MAX_ATTEMPTS"
  | "CCM_NOTIFY_RETRY_BASE_MS"
  | "CCM_NOTIFY_RETRY_MAX_MS"
>;

export interface DeliveryDeps {
  db: DbLike;
  log: Logger;
  config: DeliveryConfig;
  /** Null when no bot token is configured: Slack rows are marked skipped. */
  slack: SlackSender | null;
  worker: string;
}

interface Item {
  row: Notification;
  ctx: IncidentContext | null;
  thread: SlackThread | null;
  channel: string;
}

type Outcome = { status: "sent" | "skipped"; result: Record<string, unknown> };

/** Deliver one claimed batch. Each unit (a row, or a coalesced group) succeeds or fails on its own. */
export async function deliverBatch(deps: DeliveryDeps, rows: Notification[]): Promise<void> {
  const units: Item[][] = [];
  const groups = new Map<string, Item[]>();
  const { contexts, threads } = await lookUp(deps.db, rows);
  for (const row of rows) {
    const ctx = row.task_id ? (contexts.get(`${row.task_id}|${row.run_id}`) ?? null) : null;
    const thread = row.channel === "slack" && row.incident_key ? (threads.get(row.incident_key) ?? null) : null;
    const channel = thread?.channel ?? (ctx ? slackChannelFor(routeSubject(ctx), deps.config.CCM_SLACK_ROUTES, deps.config.CCM_SLACK_DEFAULT_CHANNEL) : deps.config.CCM_SLACK_DEFAULT_CHANNEL);
    const item = { row, ctx, thread, channel };
    if (row.channel === "slack" && row.coalesce_key && ctx) {
      const key = `${row.coalesce_key}|${channel}|${thread?.thread_ts ?? "new"}`;
      const group = groups.get(key);
      if (group) group.push(item);
      else {
        const g = [item];
        groups.set(key, g);
        units.push(g);
      }
    } else {
      units.push([item]);
    }
  }
  for (const unit of units) {
    try {
      const outcome = unit[0]?.row.channel === "pagerduty" ? await deliverPagerduty(deps, unit[0]) : await deliverSlack(deps, unit);
      for (const it of unit) {
        const ok = await completeNotification(deps.db, it.row.id, deps.worker, outcome.result, outcome.status);
        if (!ok) deps.log.warn({ notificationId: it.row.id }, "delivered, but the lease had passed to another worker");
      }
      deps.log.info({ ids: unit.map((u) => u.row.id), kind: unit[0]?.row.kind, status: outcome.status }, "notification delivered");
    } catch (err) {
      await recordFailure(deps, unit, err);
    }
  }
}

/**
 * The incident context and Slack thread of every row, fetched concurrently and once per distinct
 * task/run and incident. Nothing in the grouping loop writes threads, so reading them all up
 * front sees what reading them one by one would.
 */
async function lookUp(db: DbLike, rows: Notification[]) {
  const runs = new Map<string, { taskId: string; runId: string | null }>();
  const incidents = new Set<string>();
  for (const row of rows) {
    if (row.task_id) runs.set(`${row.task_id}|${row.run_id}`, { taskId: row.task_id, runId: row.run_id });
    if (row.channel === "slack" && row.incident_key) incidents.add(row.incident_key);
  }
  const [contexts, threads] = await Promise.all([
    Promise.all([...runs].map(async ([key, r]) => [key, await loadIncidentContext(db, r.taskId, r.runId)] as const)),
    Promise.all([...incidents].map(async (key) => [key, await findThread(db, key)] as const)),
  ]);
  return { contexts: new Map(contexts), threads: new Map(threads) };
}

async function recordFailure(deps: DeliveryDeps, unit: Item[], err: unknown): Promise<void> {
  const de = err instanceof DeliveryError ? err : new DeliveryError(`unexpected: ${(err as Error)?.message ?? String(err)}`, { permanent: false, cause: err });
  for (const { row } of unit) {
    let retryAt: Date | null;
    let count = true;
    if (de.retryAfterMs !== undefined) {
      retryAt = new Date(Date.now() + de.retryAfterMs);
      count = false;
    } else if (de.permanent || row.attempts >= deps.config.CCM_NOTIFY_MAX_ATTEMPTS) {
      retryAt = null;
    } else {
      retryAt = new Date(Date.now() + backoffMs(row.attempts, deps.config.CCM_NOTIFY_RETRY_BASE_MS, deps.config.CCM_NOTIFY_RETRY_MAX_MS));
    }
    await failNotification(deps.db, row.id, deps.worker, de.message, retryAt, count);
    const ctx = { notificationId: row.id, kind: row.kind, attempts: row.attempts, err: { name: de.name, message: de.message } };
    if (retryAt) deps.log.warn({ ...ctx, retryAt }, "notification not delivered; will retry");
    else deps.log.error(ctx, "notification failed permanently; kept as failed in ccm.notifications");
  }
}

function skipped(reason: string): Outcome {
  return { status: "skipped", result: { reason } };
}

async function deliverSlack(deps: DeliveryDeps, unit: Item[]): Promise<Outcome> {
  const first = unit[0] as Item;
  const { row, ctx } = first;
  const slack = deps.slack;
  if (!slack) return skipped("Slack not configured (CCM_SLACK_BOT_TOKEN)");
  const url = deps.config.CCM_PUBLIC_URL;

  if (row.kind === "digest" || !ctx) {
    const channel = typeof row.payload.channel === "string" ? row.payload.channel : (deps.config.CCM_SLACK_DIGEST_CHANNEL ?? deps.config.CCM_SLACK_DEFAULT_CHANNEL);
    const message: SlackMessage = Array.isArray(row.payload.blocks) && typeof row.payload.text === "string"
      ? { text: row.payload.text, blocks: row.payload.blocks as SlackMessage["blocks"] }
      : genericMessage(row.kind, row.payload);
    const posted = await slack.post(channel, message);
    return { status: "sent", result: { ...posted } };
  }

  const ctxs = unit.map((u) => u.ctx as IncidentContext);
  switch (row.kind) {
    case "run_finished": {
      const status = typeof row.payload.status === "string" ? row.payload.status : (ctx.run_status ?? "unknown");
      const message = unit.length > 1 ? coalescedMessage(ctxs, status) : runFinishedMessage(ctx, status, url);
      // A reply that needs a human is also shown in the channel, not only inside the thread.
      return postInThreadOrOpen(deps, slack, unit, message, ["escalated", "failed", "unknown"].includes(status));
    }
    case "approval_requested":
      return postInThreadOrOpen(deps, slack, unit, approvalRequestMessage(ctx, url), true);
    case "approval_decided": {
      const decision = String(row.payload.decision ?? ctx.decision ?? "");
      const by = String(row.payload.decided_by ?? ctx.decided_by ?? "?");
      const reason = typeof row.payload.reason === "string" ? row.payload.reason : null;
      const message = approvalDecidedMessage(ctx, decision, by, reason);
      const original = row.run_id ? await findApprovalMessage(deps.db, row.run_id) : null;
      if (original) {
        const updated = await slack.update(original.channel, original.ts, message);
        return { status: "sent", result: { ...updated, updated: true } };
      }
      return postInThreadOrOpen(deps, slack, unit, message);
    }
    case "alert_resolved": {
      if (!first.thread) return skipped("no incident thread to reply in");
      const posted = await slack.post(first.thread.channel, resolvedMessage(ctxs), first.thread.thread_ts);
      return { status: "sent", result: { ...posted } };
    }
    default: {
      const posted = await postInThreadOrOpen(deps, slack, unit, genericMessage(row.kind, row.payload));
      return posted;
    }
  }
}

/** Reply in the incident's thread, or open the thread with this message (for every incident in the unit). */
async function postInThreadOrOpen(deps: DeliveryDeps, slack: SlackSender, unit: Item[], message: SlackMessage, broadcast = false): Promise<Outcome> {
  const first = unit[0] as Item;
  if (first.thread) {
    const posted = await slack.post(first.thread.channel, message, first.thread.thread_ts, broadcast);
    return { status: "sent", result: { ...posted, thread_ts: first.thread.thread_ts } };
  }
  const posted = await slack.post(first.channel, message);
  for (const key of new Set(unit.map((u) => u.row.incident_key))) {
    if (key) await saveThread(deps.db, key, posted.channel, posted.ts);
  }
  return { status: "sent", result: { ...posted, thread_ts: posted.ts } };
}

async function deliverPagerduty(deps: DeliveryDeps, item: Item | undefined): Promise<Outcome> {
  const { row, ctx } = item as Item;
  const dedupKey = row.incident_key ?? row.dedup_key;
  const base = deps.config.CCM_PAGERDUTY_URL;
  if (row.kind === "pd_resolve") {
    // Resolve with the routing key the trigger used; no trigger sent = nothing to resolve.
    const trigger = await notificationOutcome(deps.db, `pd:trigger:${row.incident_key}`);
    const triggerKey = trigger?.status === "sent" ? resultText(trigger, "routing_key") : null;
    if (!triggerKey) return skipped("no page was sent for this incident");
    const res = await sendPagerdutyEvent(base, { routing_key: triggerKey, event_action: "resolve", dedup_key: dedupKey });
    return { status: "sent", result: { http_status: res.status, routing_key: triggerKey, dedup_key: dedupKey } };
  }
  if (!ctx) return skipped("task no longer exists");
  const routingKey = routingKeyFor(routeSubject(ctx), deps.config.CCM_PAGERDUTY_ROUTES, deps.config.CCM_PAGERDUTY_ROUTING_KEY);
  if (!routingKey) return skipped("PagerDuty not configured (CCM_PAGERDUTY_ROUTING_KEY / CCM_PAGERDUTY_ROUTES)");
  const event = pagerdutyTrigger(ctx, row, routingKey, dedupKey, deps.config.CCM_PUBLIC_URL);
  const res = await sendPagerdutyEvent(base, event);
  return { status: "sent", result: { http_status: res.status, routing_key: routingKey, dedup_key: dedupKey } };
}

/** A trigger event with the evidence a person needs to act without opening anything else. */
export function pagerdutyTrigger(ctx: IncidentContext, row: Notification, routingKey: string, dedupKey: string, publicUrl?: string): PagerdutyEvent {
  const status = String(row.payload.status ?? ctx.run_status ?? "escalated");
  const what = status === "approval_expired" ? "approval not answered in time" : status;
  const summary = `${ctx.alertname ?? "alert"} on ${ctx.host ?? "?"}: ${what} — ${ctx.run_summary ?? ctx.task_summary ?? ""}`;
  const severityLabel = typeof ctx.labels.severity === "string" ? ctx.labels.severity : undefined;
  return {
    routing_key: routingKey,
    event_action: "trigger",
    dedup_key: dedupKey,
    payload: {
      summary: clip(summary, 1024),
      severity: pagerdutySeverity(severityLabel),
      source: ctx.host ?? ctx.agent_host ?? "ccm",
      ...(ctx.playbook ? { component: ctx.playbook } : {}),
      ...(ctx.alertname ? { class: ctx.alertname } : {}),
      custom_details: {
        status,
        task_id: ctx.task_id,
        run_id: ctx.run_id,
        summary: ctx.run_summary ?? ctx.task_summary,
        error: ctx.run_error,
        confidence: ctx.confidence ?? null,
        proposal: ctx.proposal ?? null,
        evidence: ctx.steps.slice(0, 20),
        labels: ctx.labels,
        annotations: ctx.annotations,
        inspect: `ccm tasks show ${ctx.task_id}`,
      },
    },
    ...(publicUrl ? { links: [{ href: `${publicUrl.replace(/\/$/, "")}/v1/tasks/${ctx.task_id}`, text: "CCM task" }] } : {}),
    client: "CCM",
  };
}
