import { z } from "zod";
import type pg from "pg";
import type { NormalizedAlert } from "@ccm/schemas";
import { toDb, type DbLike } from "./db.ts";
import { classifyDatabaseError } from "./errors.ts";

export const ingestResultSchema = z.object({
  alert_id: z.coerce.number(),
  task_id: z.string().nullable(),
  outcome: z.string(),
  host: z.string().nullable(),
});
export type IngestResult = z.infer<typeof ingestResultSchema>;

/** Ingest one webhook delivery's alerts in one transaction (one statement); returns what became of each. */
export async function ingestAlerts(
  pool: pg.Pool,
  source: string,
  groupKey: string | null,
  alerts: NormalizedAlert[],
): Promise<IngestResult[]> {
  try {
    const { rows } = await pool.query("select * from ccm.ingest_alerts($1, $2, $3)", [
      source,
      groupKey,
      JSON.stringify(alerts),
    ]);
    return rows.map((r) => ingestResultSchema.parse(r));
  } catch (err) {
    throw classifyDatabaseError(err);
  }
}

export const recoveredRunSchema = z.object({ run_id: z.string(), outcome: z.string() });
export type RecoveredRun = z.infer<typeof recoveredRunSchema>;

/** Re-queue or mark unknown every run whose lease ran out. */
export async function recoverExpiredLeases(db: DbLike, maxAttempts = 3): Promise<RecoveredRun[]> {
  const rows = await toDb(db).call<unknown[]>("recover_expired_leases", { p_max_attempts: maxAttempts });
  return rows.map((r) => recoveredRunSchema.parse(r));
}
