import type { Logger } from "@ccm/logger";
import type { DbLike } from "@ccm/store";
import { expireApprovals } from "@ccm/notify";
import { startPeriodic, type PeriodicWorker } from "./periodic.ts";

/** Rejects approvals nobody answered within timeoutS as `ccm:approval-timeout`, which pages on-call. */
export function startApprovalExpiry(db: DbLike, log: Logger, options: { timeoutS: number; intervalMs?: number }): PeriodicWorker {
  return startPeriodic(log, "approval expiry failed; will retry", options.intervalMs ?? 15_000, async () => {
    for (const runId of await expireApprovals(db, options.timeoutS)) {
      log.warn({ runId, timeoutS: options.timeoutS }, "approval timed out; escalated");
    }
  });
}
