import { z } from "zod";
import { toDb, type DbLike } from "@ccm/store";

export const decisionResultSchema = z.object({
  // decided | already_decided | not_found | not_awaiting_approval
  outcome: z.string(),
  decision: z.string().nullable(),
  decided_by: z.string().nullable(),
  decided_at: z.coerce.date().nullable(),
  continuation_run_id: z.string().nullable(),
});
export type DecisionResult = z.infer<typeof decisionResultSchema>;

/** Record a decision through the engine's ccm.decide_approval: the first decision wins. */
export async function decideApproval(
  db: DbLike,
  runId: string,
  decision: "approved" | "rejected",
  decidedBy: string,
  reason: string | null,
): Promise<DecisionResult> {
  const rows = await toDb(db).call<unknown[]>("decide_approval", {
    p_run_id: runId,
    p_decision: decision,
    p_decided_by: decidedBy,
    p_reason: reason,
  });
  return decisionResultSchema.parse(rows[0]);
}

// RETURNS TABLE (run_id uuid): PostgREST answers [{run_id}], a plain json_agg of a one-column
// function answers bare ids. Either way the result is the list of ids.
const expiredSchema = z.array(z.union([z.string(), z.object({ run_id: z.string() }).transform((r) => r.run_id)]));

/** Reject (as ccm:approval-timeout, which pages) approvals older than timeoutS. Returns their run ids. */
export async function expireApprovals(db: DbLike, timeoutS: number): Promise<string[]> {
  const rows = await toDb(db).call("expire_approvals", { p_timeout_seconds: timeoutS });
  return expiredSchema.parse(rows);
}
