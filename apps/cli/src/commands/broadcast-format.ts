import type { BroadcastDetail, BroadcastRow } from "@ccm/store";
import { formatTime } from "../format-time.ts";

const ORDER = ["succeeded", "failed", "escalated", "timeout", "unknown", "offline", "skipped", "cancelled", "running", "queued", "held"];

/** "[██████████░░░░░░░░░░] 25/50 done" */
export function progressBar(done: number, total: number, width = 30): string {
  const filled = total > 0 ? Math.round((done / total) * width) : 0;
  return `[${"█".repeat(filled)}${"░".repeat(width - filled)}] ${done}/${total} done`;
}

function finalCount(states: Record<string, number>): number {
  return Object.entries(states)
    .filter(([s]) => !["held", "queued", "running", "awaiting_approval"].includes(s))
    .reduce((n, [, v]) => n + v, 0);
}

export function formatStates(states: Record<string, number>): string {
  const keys = [...ORDER.filter((s) => states[s]), ...Object.keys(states).filter((s) => !ORDER.includes(s))];
  return keys.map((s) => `${s} ${states[s]}`).join(", ");
}

export function formatBroadcast(b: BroadcastDetail, opts: { bar: boolean }): string {
  const out = [
    `broadcast ${b.id}`,
    `  playbook: ${b.playbook}${Object.keys(b.params).length ? ` ${JSON.stringify(b.params)}` : ""}${b.dry_run ? "  (dry run)" : ""}`,
    `  status:   ${b.status}${b.stop_reason ? ` — ${b.stop_reason}` : ""}`,
    `  targeted: ${b.targeted}   canary ${b.canary}, batch ${b.batch} (${b.batch_size ?? "-"} hosts), max failures ${b.max_failures}` +
      `${b.max_concurrency ? `, max concurrency ${b.max_concurrency}` : ""}${b.current_wave !== null ? `   current wave: ${b.current_wave === 0 ? "canary" : b.current_wave}` : ""}`,
    `  by:       ${b.created_by} at ${formatTime(b.created_at)}${b.finished_at ? `   finished ${formatTime(b.finished_at)}` : ""}`,
  ];
  if (opts.bar) out.push(`  ${progressBar(finalCount(b.states), b.targeted)}`);
  out.push(`  states:   ${formatStates(b.states)}`);
  if (b.summary) out.push(`  summary:  ${b.summary}`);
  out.push("", "  HOST                      WAVE    STATE       DETAIL");
  for (const h of b.hosts) {
    const wave = h.wave === null ? "-" : h.wave === 0 ? "canary" : String(h.wave);
    const detail = h.error_line ? `${h.error_line}${h.exit_code !== null ? ` (exit ${h.exit_code})` : ""}` : (h.summary ?? "");
    out.push(`  ${h.host.padEnd(24).slice(0, 24)}  ${wave.padEnd(6)}  ${h.state.padEnd(10)}  ${detail.slice(0, 120)}`);
  }
  return out.join("\n");
}

export function formatBroadcastList(rows: BroadcastRow[]): string {
  if (rows.length === 0) return "no broadcasts";
  return [
    "ID        STATUS     PLAYBOOK          TARGETED  CREATED (UTC)        SUMMARY",
    ...rows.map(
      (b) => `${b.id.slice(0, 8)}  ${b.status.padEnd(9)}  ${b.playbook.padEnd(16).slice(0, 16)}  ${String(b.targeted).padEnd(8)}  ${formatTime(b.created_at)}  ${b.summary ?? ""}`,
    ),
  ].join("\n");
}
