import { z } from "zod";
import { toDb, type DbLike } from "@ccm/store";

// RETURNS TABLE (run_id uuid): PostgREST answers [{run_id}], a plain json_agg of a one-column
// function answers bare ids. Either way the result is the list of ids.
const expiredSchema = z.array(z.union([z.string(), z.object({ run_id: z.string() }).transform((r) => r.run_id)]));

/** Reject (as ccm:approval-timeout, which pages) approvals older than timeoutS. Returns their run ids. */
export async function expireApprovals(db: DbLike, timeoutS: number): Promise<string[]> {
  const rows = await toDb(db).call("expire_approvals", { p_timeout_seconds: timeoutS });
  return expiredSchema.parse(rows);
}
