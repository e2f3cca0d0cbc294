import type { EngineHooks } from "@ccm/playbooks";
import type { ClaimedRun } from "@ccm/store";
import type { ExecutorDeps } from "./run-executor.ts";

/** The engine's view of the hub's state for one run: track record, confidence, approval and the rails. */
export function engineHooks(deps: ExecutorDeps, run: ClaimedRun, playbook: string): EngineHooks {
  const alertClass = run.alertname ?? "(none)";
  return {
    trackRecord: () => deps.remediation.trackRecord(playbook, alertClass, deps.hostGroup),
    async saveConfidence(confidence, proposal) {
      await deps.remediation.saveConfidence(run.run_id, deps.agentId, confidence, proposal, deps.hostGroup);
    },
    gate: () => deps.remediation.remediationGate(deps.agentId),
    beginRemediation: (opts) => deps.remediation.beginRemediation(run.run_id, deps.agentId, opts),
    async recordOutcome(success) {
      await deps.remediation.recordOutcome(run.run_id, deps.agentId, success);
    },
  };
}
