import { z } from "zod";
import type pg from "pg";
import { classifyDatabaseError } from "./errors.ts";

export const claimedRunSchema = z.object({
  run_id: z.string(),
  task_id: z.string(),
  attempt: z.number(),
  source: z.string(),
  alertname: z.string().nullable(),
  host: z.string().nullable(),
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()),
  fingerprint: z.string().nullable(),
  starts_at: z.date().nullable(),
  lease_expires_at: z.date(),
});
export type ClaimedRun = z.infer<typeof claimedRunSchema>;

export interface Enrolment {
  host: string;
  aliases: string[];
  labels: Record<string, string>;
  version: string;
  playbooks: string[];
  facts: Record<string, unknown>;
}

export type StepStatus = "ok" | "failed" | "skipped" | "dry_run";
export type FinalRunStatus = "succeeded" | "failed" | "escalated" | "unknown";

export interface StepResult {
  status: StepStatus;
  detail?: string;
  data?: unknown;
  exitCode?: number;
  durationMs?: number;
  outputTail?: string;
}

/** Everything an agent does to the hub's state. Both transports implement it with the same SQL functions. */
export interface AgentStore {
  enroll(e: Enrolment): Promise<string>;
  heartbeat(agentId: string, facts?: Record<string, unknown>): Promise<boolean>;
  claimRuns(agentId: string, limit: number, leaseSeconds: number): Promise<ClaimedRun[]>;
  startRun(runId: string, agentId: string, playbook: string, idempotent: boolean, dryRun: boolean): Promise<boolean>;
  renewLease(runId: string, agentId: string, leaseSeconds: number): Promise<string>;
  recordStep(runId: string, agentId: string, phase: string, action: string, args: unknown): Promise<number>;
  finishStep(stepId: number, agentId: string, result: StepResult): Promise<void>;
  finishRun(
    runId: string,
    agentId: string,
    status: FinalRunStatus,
    summary: string,
    result: unknown,
    error?: string,
  ): Promise<boolean>;
  releaseRun(runId: string, agentId: string, reason: string): Promise<string>;
}

/** The postgres transport: `pg` straight to any Postgres >= 15. */
export class PgAgentStore implements AgentStore {
  constructor(private readonly pool: pg.Pool) {}

  private async one<T>(sql: string, params: unknown[]): Promise<T> {
    try {
      const { rows } = await this.pool.query(sql, params);
      return (rows[0] as { v: T }).v;
    } catch (err) {
      throw classifyDatabaseError(err);
    }
  }

  enroll(e: Enrolment): Promise<string> {
    return this.one("select ccm.enroll_agent($1, $2, $3, $4, $5, $6) as v", [
      e.host,
      e.aliases,
      JSON.stringify(e.labels),
      e.version,
      e.playbooks,
      JSON.stringify(e.facts),
    ]);
  }

  heartbeat(agentId: string, facts?: Record<string, unknown>): Promise<boolean> {
    return this.one("select ccm.heartbeat($1, $2) as v", [agentId, facts ? JSON.stringify(facts) : null]);
  }

  async claimRuns(agentId: string, limit: number, leaseSeconds: number): Promise<ClaimedRun[]> {
    try {
      const { rows } = await this.pool.query("select * from ccm.claim_runs($1, $2, $3)", [
        agentId,
        limit,
        leaseSeconds,
      ]);
      return rows.map((r) => claimedRunSchema.parse(r));
    } catch (err) {
      throw classifyDatabaseError(err);
    }
  }

  startRun(runId: string, agentId: string, playbook: string, idempotent: boolean, dryRun: boolean): Promise<boolean> {
    return this.one("select ccm.start_run($1, $2, $3, $4, $5) as v", [runId, agentId, playbook, idempotent, dryRun]);
  }

  renewLease(runId: string, agentId: string, leaseSeconds: number): Promise<string> {
    return this.one("select ccm.renew_lease($1, $2, $3) as v", [runId, agentId, leaseSeconds]);
  }

  async recordStep(runId: string, agentId: string, phase: string, action: string, args: unknown): Promise<number> {
    const id = await this.one<string>("select ccm.record_step($1, $2, $3, $4, $5) as v", [
      runId,
      agentId,
      phase,
      action,
      JSON.stringify(args ?? {}),
    ]);
    return Number(id);
  }

  async finishStep(stepId: number, agentId: string, r: StepResult): Promise<void> {
    await this.one("select ccm.finish_step($1, $2, $3, $4, $5, $6, $7, $8) as v", [
      stepId,
      agentId,
      r.status,
      r.detail ?? null,
      r.data === undefined ? null : JSON.stringify(r.data),
      r.exitCode ?? null,
      r.durationMs === undefined ? null : Math.round(r.durationMs),
      r.outputTail ?? null,
    ]);
  }

  finishRun(
    runId: string,
    agentId: string,
    status: FinalRunStatus,
    summary: string,
    result: unknown,
    error?: string,
  ): Promise<boolean> {
    return this.one("select ccm.finish_run($1, $2, $3, $4, $5, $6) as v", [
      runId,
      agentId,
      status,
      summary,
      JSON.stringify(result ?? null),
      error ?? null,
    ]);
  }

  releaseRun(runId: string, agentId: string, reason: string): Promise<string> {
    return this.one("select ccm.release_run($1, $2, $3) as v", [runId, agentId, reason]);
  }
}
