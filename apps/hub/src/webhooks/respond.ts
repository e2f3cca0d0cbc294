import type { Context } from "hono";
import type { z } from "zod";
import type { Logger } from "@ccm/logger";
import type { IngestResult } from "@ccm/store";
import { RequestRejected } from "../http-errors.ts";

declare module "hono" {
  interface ContextVariableMap {
    /** Set by ingestAnswer: alerts per outcome, read by the hub's metrics middleware (no re-parse of the body). */
    alertOutcomes: Record<string, number>;
  }
}

/** The first issues of a failed zod parse, as {path, message} a sender can act on. */
export function formatIssues(error: z.ZodError): Array<{ path: string; message: string }> {
  return error.issues.slice(0, 20).map((i) => ({ path: i.path.join(".") || "(root)", message: i.message }));
}

/** Parse with `schema` or answer 400 naming the source's format and the offending fields. */
export function parseOrReject<S extends z.ZodType>(schema: S, body: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new RequestRejected(400, `not ${what}`, formatIssues(parsed.error));
  return parsed.data;
}

/** 200 after the commit: what became of each alert. Logs one line per delivery. */
export function ingestAnswer(
  c: Context,
  log: Logger,
  source: string,
  results: IngestResult[],
  extra: Record<string, unknown> = {},
) {
  const outcomes = countBy(results.map((r) => r.outcome));
  c.set("alertOutcomes", outcomes);
  log.info({ source, alerts: results.length, outcomes, ...extra }, "webhook ingested");
  return c.json({
    status: "ok",
    ...extra,
    alerts: results.map((r) => ({ alert_id: r.alert_id, task_id: r.task_id, outcome: r.outcome, host: r.host })),
  });
}

function countBy(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}
