import type { Logger } from "@ccm/logger";
import { toDb, type DbLike } from "@ccm/store";
import type { NotifyConfig } from "@ccm/notify";
import { startApprovalExpiry } from "./approval-expiry.ts";
import { startDigestWorker } from "./digest.ts";
import { startOutboxWorker } from "./outbox.ts";

/** The hub's notification workers: outbox delivery, approval timeouts, morning digest. */
export function startNotificationWorkers(dbLike: DbLike, log: Logger, config: NotifyConfig): { stop(): Promise<void> } {
  const db = toDb(dbLike);
  const workers = [
    startOutboxWorker(db, log.child({ component: "outbox" }), config),
    startApprovalExpiry(db, log.child({ component: "approval-expiry" }), { timeoutS: config.CCM_APPROVAL_TIMEOUT_S }),
    startDigestWorker(db, log.child({ component: "digest" }), config),
  ];
  return {
    async stop() {
      await Promise.all(workers.map((w) => w.stop()));
    },
  };
}
