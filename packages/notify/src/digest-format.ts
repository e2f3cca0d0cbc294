import type { Digest } from "./digest-query.ts";
import { clip, esc, type SlackMessage } from "./slack-blocks.ts";

export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return "n/a";
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function when(d: Date, timeZone: string): string {
  return new Intl.DateTimeFormat("en-GB", { timeZone, dateStyle: "medium", timeStyle: "short" }).format(d);
}

/** The digest as lines of plain text (terminal and the Slack fallback). */
export function digestLines(d: Digest, timeZone = "UTC"): string[] {
  const c = d.counts;
  const lines = [
    `CCM digest ${when(d.periodStart, timeZone)} → ${when(d.periodEnd, timeZone)} (${timeZone})`,
    "",
    `alerts received:    ${d.alerts.firing} firing, ${d.alerts.resolved} resolved`,
    `auto-fixed:         ${c.succeeded}${d.fixedByPlaybook.length ? `  (${d.fixedByPlaybook.map((f) => `${f.playbook} ${f.n}`).join(", ")})` : ""}`,
    `awaiting approval:  ${c.awaitingApproval}`,
    `escalated:          ${c.escalated}`,
    `failed:             ${c.failed}`,
    `unknown:            ${c.unknown}`,
    `cancelled:          ${c.cancelled}${c.dryRun ? `   dry runs: ${c.dryRun}` : ""}`,
    `MTTR:               ${formatDuration(d.mttrSeconds)}`,
  ];
  if (d.topHosts.length) lines.push(`top hosts:          ${d.topHosts.map((h) => `${h.host} (${h.n})`).join(", ")}`);
  if (d.budgetHits.length) lines.push(`hit their budget:   ${d.budgetHits.map((b) => `${b.playbook} (${b.n})`).join(", ")}`);
  if (d.broadcastsFinished !== null) lines.push(`broadcasts done:    ${d.broadcastsFinished}`);
  lines.push(`agents offline:     ${d.offlineAgents.length}${d.offlineAgents.length ? `  (${d.offlineAgents.map((a) => a.host).join(", ")})` : ""}`);
  if (d.deliveryFailures) lines.push(`notifications that failed to send: ${d.deliveryFailures} (see ccm.notifications)`);
  if (d.needsHuman.length) {
    lines.push("", "needs a look:");
    for (const n of d.needsHuman) lines.push(`  ${n.status.padEnd(9)} ${n.host ?? "?"}  ${n.alertname ?? "?"}  ${clip(n.summary ?? "", 100)}  [${n.task_id.slice(0, 8)}]`);
  }
  if (d.pendingApprovals.length) {
    lines.push("", "waiting for a decision:");
    for (const p of d.pendingApprovals) lines.push(`  ${p.host ?? "?"}  ${p.alertname ?? "?"}  since ${when(p.requested_at, timeZone)}  ccm approve ${p.run_id.slice(0, 8)}`);
  }
  return lines;
}

/** The digest as one Block Kit message. */
export function digestMessage(d: Digest, timeZone = "UTC"): SlackMessage {
  const c = d.counts;
  const quiet = c.escalated + c.failed + c.unknown + c.awaitingApproval === 0;
  const headline = quiet
    ? `:sunrise: Quiet night: ${c.succeeded} fixed automatically, nothing needs you`
    : `:sunrise: ${c.escalated + c.failed + c.unknown} need a look, ${c.awaitingApproval} await approval, ${c.succeeded} fixed`;
  const fields = [
    `*Alerts*\n${d.alerts.firing} firing / ${d.alerts.resolved} resolved`,
    `*Auto-fixed*\n${c.succeeded}`,
    `*Escalated / failed / unknown*\n${c.escalated} / ${c.failed} / ${c.unknown}`,
    `*Awaiting approval*\n${c.awaitingApproval}`,
    `*MTTR*\n${formatDuration(d.mttrSeconds)}`,
    `*Agents offline*\n${d.offlineAgents.length}`,
  ];
  const details = digestLines(d, timeZone).slice(2);
  return {
    text: clip(`${headline.replace(/^:sunrise: /, "CCM digest: ")}`, 300),
    blocks: [
      { type: "header", text: { type: "plain_text", text: clip(headline.replace(/^:sunrise: /, ""), 150) } },
      { type: "section", fields: fields.map((t) => ({ type: "mrkdwn", text: t })) },
      { type: "section", text: { type: "mrkdwn", text: clip("```" + esc(details.join("\n")) + "```", 2900) } },
    ],
  };
}
