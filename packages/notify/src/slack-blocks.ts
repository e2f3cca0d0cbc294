import type { IncidentContext, StepLine } from "./incident-context.ts";

/** A Block Kit message: `text` is the fallback shown in push notifications. */
export interface SlackMessage {
  text: string;
  blocks: Array<Record<string, unknown>>;
}

export const APPROVE_ACTION = "ccm_approve";
export const REJECT_ACTION = "ccm_reject";

/** Slack mrkdwn control characters; labels and summaries are untrusted text. */
export function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

const ICON: Record<string, string> = {
  succeeded: ":white_check_mark:",
  failed: ":x:",
  escalated: ":rotating_light:",
  unknown: ":grey_question:",
  awaiting_approval: ":raised_hand:",
};
const VERB: Record<string, string> = {
  succeeded: "Fixed",
  failed: "Fix failed",
  escalated: "Needs a human",
  unknown: "State unknown",
  awaiting_approval: "Approval needed",
};

const header = (text: string) => ({ type: "header", text: { type: "plain_text", text: clip(text, 150), emoji: true } });
const section = (md: string) => ({ type: "section", text: { type: "mrkdwn", text: clip(md, 2900) } });
const context = (md: string) => ({ type: "context", elements: [{ type: "mrkdwn", text: clip(md, 2900) }] });

function title(ctx: IncidentContext, status: string): string {
  const dry = ctx.dry_run ? " (dry run)" : "";
  return `${ICON[status] ?? ":bell:"} ${VERB[status] ?? status}${dry}: ${ctx.alertname ?? "alert"} on ${ctx.host ?? "?"}`;
}

/** "0.78 (approve) — match 1.00, diagnosis 1.00, …" from the engine's confidence JSON, if any. */
export function describeConfidence(confidence: unknown): string | null {
  if (!confidence || typeof confidence !== "object") return null;
  const c = confidence as { score?: unknown; band?: unknown; explanation?: unknown };
  if (typeof c.explanation === "string") return c.explanation;
  if (typeof c.score === "number") return `${c.score.toFixed(2)}${typeof c.band === "string" ? ` (${c.band})` : ""}`;
  return null;
}

function stepLines(steps: StepLine[], phase: string): string[] {
  return steps
    .filter((s) => s.phase === phase)
    .slice(0, 8)
    .map((s) => `• ${esc(s.action)} — ${s.status}${s.detail ? `: ${esc(clip(s.detail, 200))}` : ""}`);
}

function verifiedLine(ctx: IncidentContext): string {
  const verified = (ctx.result as { verified?: unknown } | null)?.verified;
  const verifySteps = ctx.steps.filter((s) => s.phase === "verify");
  if (verified === true || (verified === undefined && verifySteps.length > 0 && verifySteps.every((s) => s.status === "ok"))) {
    return ":heavy_check_mark: verified";
  }
  if (verified === false || verifySteps.some((s) => s.status === "failed")) return ":warning: verification failed";
  return ":grey_question: not verified";
}

function facts(ctx: IncidentContext) {
  const fields = [
    `*Host*\n${esc(ctx.host ?? "?")}`,
    `*Alert*\n${esc(ctx.alertname ?? "?")}`,
    `*Playbook*\n${esc(ctx.playbook ?? "none")}`,
    `*Confidence*\n${esc(describeConfidence(ctx.confidence) ?? "n/a")}`,
  ];
  return { type: "section", fields: fields.map((t) => ({ type: "mrkdwn", text: clip(t, 1900) })) };
}

function footer(ctx: IncidentContext, publicUrl?: string): string {
  const id = ctx.task_id.slice(0, 8);
  const link = publicUrl ? `<${publicUrl.replace(/\/$/, "")}/v1/tasks/${ctx.task_id}|task ${id}>` : `task ${id}`;
  return `${link} · \`ccm tasks show ${id}\``;
}

/** A run finished: first message of an incident, or a reply in its thread. */
export function runFinishedMessage(ctx: IncidentContext, status: string, publicUrl?: string): SlackMessage {
  const summary = ctx.run_summary ?? ctx.task_summary ?? "";
  const blocks: Array<Record<string, unknown>> = [header(title(ctx, status)), facts(ctx)];
  if (summary) blocks.push(section(esc(summary)));
  const found = stepLines(ctx.steps, "diagnose");
  if (found.length) blocks.push(section(`*Found*\n${found.join("\n")}`));
  const did = stepLines(ctx.steps, "remediate");
  blocks.push(section(`*Did*\n${did.length ? did.join("\n") : "nothing on the host"}`));
  blocks.push(context(`${verifiedLine(ctx)} · ${footer(ctx, publicUrl)}`));
  return { text: `${VERB[status] ?? status}: ${ctx.alertname ?? "alert"} on ${ctx.host ?? "?"} — ${clip(summary, 200)}`, blocks };
}

function proposalLines(proposal: unknown): string[] {
  if (!Array.isArray(proposal)) return [];
  return proposal.slice(0, 10).map((p) => {
    const o = (p ?? {}) as { action?: unknown; target?: unknown; detail?: unknown };
    const parts = [o.action, o.target].filter((x) => typeof x === "string").join(" ");
    return `• ${esc(parts || JSON.stringify(p))}${typeof o.detail === "string" ? ` — ${esc(clip(o.detail, 200))}` : ""}`;
  });
}

/** The proposed actions with Approve / Reject buttons; the button value is the run id. */
export function approvalRequestMessage(ctx: IncidentContext, publicUrl?: string): SlackMessage {
  const runId = ctx.run_id ?? "";
  const lines = proposalLines(ctx.proposal);
  const found = stepLines(ctx.steps, "diagnose");
  return {
    text: `Approval needed: ${ctx.alertname ?? "alert"} on ${ctx.host ?? "?"}`,
    blocks: [
      header(title(ctx, "awaiting_approval")),
      facts(ctx),
      ...(ctx.run_summary ? [section(esc(ctx.run_summary))] : []),
      ...(found.length ? [section(`*Found*\n${found.join("\n")}`)] : []),
      section(`*Proposed*\n${lines.length ? lines.join("\n") : "(no proposal recorded)"}`),
      {
        type: "actions",
        block_id: `ccm_approval:${runId}`,
        elements: [
          { type: "button", action_id: APPROVE_ACTION, style: "primary", value: runId, text: { type: "plain_text", text: "Approve" } },
          { type: "button", action_id: REJECT_ACTION, style: "danger", value: runId, text: { type: "plain_text", text: "Reject" } },
        ],
      },
      context(`or \`ccm approve ${runId.slice(0, 8)}\` · ${footer(ctx, publicUrl)}`),
    ],
  };
}

/** The approval message once decided: the buttons are replaced by who decided. */
export function approvalDecidedMessage(ctx: IncidentContext, decision: string, decidedBy: string, reason: string | null): SlackMessage {
  const timedOut = decidedBy === "ccm:approval-timeout";
  const line = timedOut
    ? ":alarm_clock: No decision in time — escalated to on-call"
    : `${decision === "approved" ? ":white_check_mark: Approved" : ":no_entry_sign: Rejected"} by ${esc(decidedBy)}`;
  const lines = proposalLines(ctx.proposal);
  return {
    text: `${timedOut ? "Approval timed out" : `${decision} by ${decidedBy}`}: ${ctx.alertname ?? "alert"} on ${ctx.host ?? "?"}`,
    blocks: [
      header(title(ctx, "awaiting_approval").replace(VERB.awaiting_approval ?? "", "Approval")),
      section(`*Proposed*\n${lines.length ? lines.join("\n") : "(no proposal recorded)"}`),
      section(`${line}${reason ? `\n>${esc(clip(reason, 500))}` : ""}`),
    ],
  };
}

/** The alert's source says it ended. */
export function resolvedMessage(ctxs: IncidentContext[]): SlackMessage {
  const hosts = ctxs.map((c) => c.host ?? "?");
  const name = ctxs[0]?.alertname ?? "alert";
  const text = `:large_green_circle: ${name} resolved on ${hosts.length === 1 ? hosts[0] : `${hosts.length} hosts`}`;
  return { text, blocks: [section(esc(text)), ...(hosts.length > 1 ? [section(hostList(ctxs))] : [])] };
}

function hostList(ctxs: IncidentContext[], max = 30): string {
  const lines = ctxs.slice(0, max).map((c) => `• *${esc(c.host ?? "?")}* — ${esc(clip(c.run_summary ?? c.task_summary ?? "", 150))}`);
  if (ctxs.length > max) lines.push(`…and ${ctxs.length - max} more`);
  return lines.join("\n");
}

/** Many hosts with the same alert and outcome within the coalesce window: one message with a list. */
export function coalescedMessage(ctxs: IncidentContext[], status: string): SlackMessage {
  const name = ctxs[0]?.alertname ?? "alert";
  const text = `${ICON[status] ?? ":bell:"} ${VERB[status] ?? status}: ${name} on ${ctxs.length} hosts`;
  return {
    text,
    blocks: [header(text), section(hostList(ctxs)), context("one thread for all of them; replies follow here")],
  };
}

/** Any other kind (broadcast finished, …): payload.title and payload.text. */
export function genericMessage(kind: string, payload: Record<string, unknown>): SlackMessage {
  const t = typeof payload.title === "string" ? payload.title : kind.replace(/_/g, " ");
  const body = typeof payload.text === "string" ? payload.text : "";
  return { text: clip(`${t}${body ? `: ${body}` : ""}`, 300), blocks: [header(t), ...(body ? [section(esc(body))] : [])] };
}
