import { z } from "zod";
import {
  beginRemediationSchema,
  gateSchema,
  runContextSchema,
  type BeginRemediation,
  type GateBlock,
  type RemediationStore,
  type RunContext,
  type TrackRecord,
} from "./remediation-store.ts";
import { supabaseDb, type Db } from "./db.ts";
import type { CcmSupabaseClient } from "./supabase-client.ts";

/**
 * The playbook engine's agent-side calls over PostgREST: ccm.agent_* wrappers with this agent's
 * token; the `agentId` arguments of the contract are never sent (the token decides).
 */
export class SupabaseRemediationStore implements RemediationStore {
  private readonly db: Db;

  constructor(
    client: CcmSupabaseClient,
    private readonly token: string,
  ) {
    this.db = supabaseDb(client);
  }

  /** Every agent function takes this agent's token first. */
  private rpc<T>(fn: string, args: Record<string, unknown>): Promise<T> {
    return this.db.call<T>(fn, { p_token: this.token, ...args });
  }

  async runContext(runId: string): Promise<RunContext> {
    const v = await this.rpc<unknown>("agent_run_context", { p_run_id: runId });
    return runContextSchema.parse(v ?? { task_dry_run: null, approval: null });
  }

  async trackRecord(playbook: string, alertClass: string, hostGroup: string): Promise<TrackRecord> {
    const rows = await this.rpc<unknown[]>("agent_track_record", { p_playbook: playbook, p_alert_class: alertClass, p_host_group: hostGroup });
    return z.object({ successes: z.number(), failures: z.number() }).parse(rows[0]);
  }

  saveConfidence(runId: string, _agentId: string, confidence: unknown, proposal: unknown, hostGroup: string): Promise<boolean> {
    return this.rpc("agent_save_confidence", { p_run_id: runId, p_confidence: confidence, p_proposal: proposal, p_host_group: hostGroup });
  }

  requestApproval(runId: string, _agentId: string, summary: string, proposal: unknown, result: unknown): Promise<boolean> {
    return this.rpc("agent_request_approval", { p_run_id: runId, p_summary: summary, p_proposal: proposal, p_result: result ?? null });
  }

  async remediationGate(): Promise<GateBlock | null> {
    const v = await this.rpc<unknown>("agent_remediation_gate", {});
    return v === null ? null : gateSchema.parse(v);
  }

  async beginRemediation(runId: string, _agentId: string, opts: { approved: boolean; claim: boolean }): Promise<BeginRemediation> {
    const v = await this.rpc<unknown>("agent_begin_remediation", { p_run_id: runId, p_approved: opts.approved, p_claim: opts.claim });
    return beginRemediationSchema.parse(v);
  }

  recordOutcome(runId: string, _agentId: string, success: boolean): Promise<boolean> {
    return this.rpc("agent_record_outcome", { p_run_id: runId, p_success: success });
  }

  skipRun(runId: string, _agentId: string, summary: string, result: unknown): Promise<boolean> {
    return this.rpc("agent_skip_run", { p_run_id: runId, p_summary: summary, p_result: result ?? null });
  }
}
