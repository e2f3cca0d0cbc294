import type { CheckReport } from "./check-result.ts";

const MARK = { pass: "✓", fail: "✗", skip: "–" } as const;

/** Human output: one line per check, details and the fix indented under it. */
export function formatReport(report: CheckReport): string {
  const lines: string[] = [];
  for (const c of report.checks) {
    const [first = "", ...more] = c.detail.split("\n");
    lines.push(`${MARK[c.status]} ${c.title}: ${first}`);
    for (const m of more) lines.push(`    ${m.trimStart()}`);
    if (c.fix) lines.push(`    fix: ${c.fix}`);
  }
  const failed = report.checks.filter((c) => c.status === "fail").length;
  lines.push("");
  lines.push(failed === 0 ? "all checks passed: the agent can start" : `${failed} of ${report.checks.length} checks failed`);
  return lines.join("\n");
}
