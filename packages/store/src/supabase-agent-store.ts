import { claimedRunSchema, type AgentStore, type ClaimedRun, type Enrolment, type FinalRunStatus, type StepResult } from "./agent-store.ts";
import { supabaseDb, type Db } from "./db.ts";
import type { CcmSupabaseClient } from "./supabase-client.ts";

interface RegisteredAgent {
  agent_id: string;
  host: string;
  wake_topic: string;
}

const toDate = (v: unknown): unknown => (typeof v === "string" ? new Date(v) : v);

/**
 * The supabase transport for agents: PostgREST RPC with the anon key and this agent's token.
 * Every call is a ccm.agent_* function that derives the agent from the token, so the `agentId`
 * arguments of the AgentStore contract are only used for logging by callers, never trusted.
 */
export class SupabaseAgentStore implements AgentStore {
  /** This agent's private Realtime topic, known after enroll(). */
  wakeTopic: string | undefined;

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

  async enroll(e: Enrolment): Promise<string> {
    const rows = await this.rpc<RegisteredAgent[]>("agent_register", {
      p_aliases: e.aliases,
      p_labels: e.labels,
      p_version: e.version,
      p_playbooks: e.playbooks,
      p_facts: e.facts,
    });
    const me = rows[0];
    if (!me) throw new Error("agent_register returned no row");
    this.wakeTopic = me.wake_topic;
    return me.agent_id;
  }

  heartbeat(_agentId: string, facts?: Record<string, unknown>): Promise<boolean> {
    return this.rpc("agent_heartbeat", { p_facts: facts ?? null });
  }

  async claimRuns(_agentId: string, limit: number, leaseSeconds: number): Promise<ClaimedRun[]> {
    const rows = await this.rpc<Record<string, unknown>[]>("agent_claim_runs", { p_limit: limit, p_lease_seconds: leaseSeconds });
    // PostgREST sends timestamps as ISO strings; the contract carries Dates.
    return rows.map((r) =>
      claimedRunSchema.parse({ ...r, starts_at: toDate(r.starts_at), lease_expires_at: toDate(r.lease_expires_at) }),
    );
  }

  startRun(runId: string, _agentId: string, playbook: string, idempotent: boolean, dryRun: boolean): Promise<boolean> {
    return this.rpc("agent_start_run", { p_run_id: runId, p_playbook: playbook, p_idempotent: idempotent, p_dry_run: dryRun });
  }

  renewLease(runId: string, _agentId: string, leaseSeconds: number): Promise<string> {
    return this.rpc("agent_renew_lease", { p_run_id: runId, p_lease_seconds: leaseSeconds });
  }

  async recordStep(runId: string, _agentId: string, phase: string, action: string, args: unknown): Promise<number> {
    const id = await this.rpc<number | string>("agent_record_step", { p_run_id: runId, p_phase: phase, p_action: action, p_args: args ?? {} });
    return Number(id);
  }

  async finishStep(stepId: number, _agentId: string, r: StepResult): Promise<void> {
    await this.rpc("agent_finish_step", {
      p_step_id: stepId,
      p_status: r.status,
      p_detail: r.detail ?? null,
      p_data: r.data === undefined ? null : r.data,
      p_exit_code: r.exitCode ?? null,
      p_duration_ms: r.durationMs === undefined ? null : Math.round(r.durationMs),
      p_output_tail: r.outputTail ?? null,
    });
  }

  finishRun(runId: string, _agentId: string, status: FinalRunStatus, summary: string, result: unknown, error?: string): Promise<boolean> {
    return this.rpc("agent_finish_run", {
      p_run_id: runId,
      p_status: status,
      p_summary: summary,
      p_result: result ?? null,
      p_error: error ?? null,
    });
  }

  releaseRun(runId: string, _agentId: string, reason: string): Promise<string> {
    return this.rpc("agent_release_run", { p_run_id: runId, p_reason: reason });
  }
}
