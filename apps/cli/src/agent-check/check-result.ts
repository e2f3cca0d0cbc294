import { z } from "zod";

/** One line of `ccm agent check`: pass ✓, fail ✗ (exit 1), skip – (not run, and why). */
export const checkResultSchema = z.object({
  // Stable id for scripts (`config`, `database`, `token`, `state-dir`, `playbooks`, `metrics-port`).
  id: z.string(),
  // What was checked, as printed.
  title: z.string(),
  status: z.enum(["pass", "fail", "skip"]),
  // What was found: the evidence for a pass, the error for a fail, the reason for a skip.
  detail: z.string(),
  // What to do about a fail.
  fix: z.string().optional(),
});

export type CheckResult = z.infer<typeof checkResultSchema>;

/** `ccm agent check --json` prints this. */
export const checkReportSchema = z.object({
  ok: z.boolean(),
  checks: z.array(checkResultSchema),
});

export type CheckReport = z.infer<typeof checkReportSchema>;

export const pass = (id: string, title: string, detail: string): CheckResult => ({ id, title, status: "pass", detail });
export const fail = (id: string, title: string, detail: string, fix: string): CheckResult => ({ id, title, status: "fail", detail, fix });
export const skip = (id: string, title: string, detail: string): CheckResult => ({ id, title, status: "skip", detail });

/** A short reason from any error; AggregateError (refused on ::1 and 127.0.0.1) names its first. */
export function describeError(err: unknown): string {
  const e = err instanceof AggregateError && err.errors.length > 0 ? err.errors[0] : err;
  if (!(e instanceof Error)) return String(e);
  const code = (e as { code?: unknown }).code;
  const message = e.message || e.name;
  return typeof code === "string" && !message.includes(code) ? `${code}: ${message}` : message;
}

/** A connection string safe to print: the password replaced. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable URL)";
  }
}
