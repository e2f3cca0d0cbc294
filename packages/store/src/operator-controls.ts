import { z } from "zod";
import type pg from "pg";
import { classifyDatabaseError } from "./errors.ts";

// Operator decisions on the fleet: approve/reject a proposed remediation, pause/resume.
// Used by the CLI and the hub API; the SQL functions are reused by the Slack buttons.

export const approvalDecisionSchema = z.object({
  outcome: z.enum(["decided", "already_decided", "not_found", "not_awaiting_approval"]),
  decision: z.enum(["approved", "rejected"]).nullable(),
  decided_by: z.string().nullable(),
  decided_at: z.date().nullable(),
  continuation_run_id: z.string().nullable(),
});
export type ApprovalDecision = z.infer<typeof approvalDecisionSchema>;

/** A run id that is not a uuid: never reaches the database. */
export class InvalidRunIdError extends Error {
  override readonly name = "InvalidRunIdError";
  constructor(readonly runId: string) {
    super(`not a run id: ${JSON.stringify(runId.slice(0, 60))} (expected a uuid)`);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Record a decision on an awaiting_approval run; the first decision wins (see ccm.decide_approval). */
export async function decideApproval(
  pool: pg.Pool,
  runId: string,
  decision: "approved" | "rejected",
  decidedBy: string,
  reason?: string,
): Promise<ApprovalDecision> {
  if (!UUID.test(runId)) throw new InvalidRunIdError(runId);
  try {
    const { rows } = await pool.query("select * from ccm.decide_approval($1, $2, $3, $4)", [
      runId,
      decision,
      decidedBy,
      reason ?? null,
    ]);
    return approvalDecisionSchema.parse(rows[0]);
  } catch (err) {
    throw classifyDatabaseError(err);
  }
}

/** Resolve a unique run id prefix (as printed by `ccm tasks show`) to the full id. */
export async function resolveRunId(pool: pg.Pool, prefix: string): Promise<string | null> {
  if (!/^[0-9a-f-]{4,36}$/i.test(prefix)) return null;
  try {
    const { rows } = await pool.query<{ id: string }>("select id from ccm.runs where id::text like $1 || '%' limit 2", [
      prefix.toLowerCase(),
    ]);
    return rows.length === 1 ? (rows[0]?.id ?? null) : null;
  } catch (err) {
    throw classifyDatabaseError(err);
  }
}

export const fleetPauseSchema = z.object({
  paused: z.boolean(),
  changed_by: z.string().nullable(),
  reason: z.string().nullable(),
  changed_at: z.date(),
});
export type FleetPause = z.infer<typeof fleetPauseSchema>;

/** The fleet-wide pause switch: every agent checks it before each remediation step. */
export async function setFleetPause(pool: pg.Pool, paused: boolean, changedBy: string, reason?: string): Promise<FleetPause> {
  try {
    const { rows } = await pool.query("select * from ccm.set_fleet_pause($1, $2, $3)", [paused, changedBy, reason ?? null]);
    return fleetPauseSchema.parse(rows[0]);
  } catch (err) {
    throw classifyDatabaseError(err);
  }
}

export async function getFleetPause(pool: pg.Pool): Promise<FleetPause> {
  try {
    const { rows } = await pool.query("select paused, changed_by, reason, changed_at from ccm.fleet_controls where id");
    return fleetPauseSchema.parse(rows[0]);
  } catch (err) {
    throw classifyDatabaseError(err);
  }
}
