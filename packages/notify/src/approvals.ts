import { z } from "zod";
import { classifyDatabaseError, type Pool } from "@ccm/store";

export const decisionResultSchema = z.object({
  // decided | already_decided | not_found | not_awaiting_approval
  outcome: z.string(),
  decision: z.string().nullable(),
  decided_by: z.string().nullable(),
  decided_at: z.date().nullable(),
  continuation_run_id: z.string().nullable(),
});
export type DecisionResult = z.infer<typeof decisionResultSchema>;

/** Record a decision through the engine's ccm.decide_approval: the first decision wins. */
export async function decideApproval(
  pool: Pool,
  runId: string,
  decision: "approved" | "rejected",
  decidedBy: string,
  reason: string | null,
): Promise<DecisionResult> {
  try {
    const { rows } = await pool.query("select * from ccm.decide_approval($1, $2, $3, $4)", [runId, decision, decidedBy, reason]);
    return decisionResultSchema.parse(rows[0]);
  } catch (err) {
    throw classifyDatabaseError(err);
  }
}

/** Reject (as ccm:approval-timeout, which pages) approvals older than timeoutS. Returns their run ids. */
export async function expireApprovals(pool: Pool, timeoutS: number): Promise<string[]> {
  try {
    const { rows } = await pool.query("select run_id from ccm.expire_approvals($1)", [timeoutS]);
    return rows.map((r: { run_id: string }) => r.run_id);
  } catch (err) {
    throw classifyDatabaseError(err);
  }
}
