import { z } from "zod";
import { toDb, type DbLike } from "./db.ts";
import { isoDate } from "./iso-date.ts";

// Operator decisions on the fleet: approve/reject a proposed remediation, pause/resume.
// Used by the CLI and the hub API through the ccm.op_* wrappers; the Slack buttons reuse the SQL underneath.

export const approvalDecisionSchema = z.object({
  outcome: z.enum(["decided", "already_decided", "not_found", "not_awaiting_approval"]),
  decision: z.enum(["approved", "rejected"]).nullable(),
  decided_by: z.string().nullable(),
  decided_at: isoDate.nullable(),
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
  db: DbLike,
  runId: string,
  decision: "approved" | "rejected",
  decidedBy: string,
  reason?: string | null,
): Promise<ApprovalDecision> {
  if (!UUID.test(runId)) throw new InvalidRunIdError(runId);
  const rows = await toDb(db).call("op_decide_approval", { p_run_id: runId, p_decision: decision, p_decided_by: decidedBy, p_reason: reason ?? null });
  return z.array(approvalDecisionSchema).length(1).parse(rows)[0] as ApprovalDecision;
}

/** Resolve a unique run id prefix (as printed by `ccm tasks show`) to the full id. */
export async function resolveRunId(db: DbLike, prefix: string): Promise<string | null> {
  if (!/^[0-9a-f-]{4,36}$/i.test(prefix)) return null;
  const ids = z.array(z.string()).parse(await toDb(db).call("op_resolve_run_id", { p_prefix: prefix.toLowerCase() }));
  return ids.length === 1 ? (ids[0] ?? null) : null;
}

export const fleetPauseSchema = z.object({
  paused: z.boolean(),
  changed_by: z.string().nullable(),
  reason: z.string().nullable(),
  changed_at: isoDate,
});
export type FleetPause = z.infer<typeof fleetPauseSchema>;

/** The fleet-wide pause switch: every agent checks it before each remediation step. */
export async function setFleetPause(db: DbLike, paused: boolean, changedBy: string, reason?: string): Promise<FleetPause> {
  const rows = await toDb(db).call("op_set_fleet_pause", { p_paused: paused, p_changed_by: changedBy, p_reason: reason ?? null });
  return z.array(fleetPauseSchema).length(1).parse(rows)[0] as FleetPause;
}

export async function getFleetPause(db: DbLike): Promise<FleetPause> {
  return z.array(fleetPauseSchema).length(1).parse(await toDb(db).call("op_fleet_pause"))[0] as FleetPause;
}
