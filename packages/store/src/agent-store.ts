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

/**
 * The postgres transport: `pg` straight to any Postgres >= 15.
 * Without a token it calls the internal functions as the schema owner (embedded, trusted hosts).
 * With a token it calls only the ccm.agent_* functions, which derive the agent from the token,
 * so the database role it connects as needs nothing beyond EXECUTE on those (see docs/supabase.md).
 */
export class PgAgentStore implements AgentStore {
  private readonly token: string | undefined;

  constructor(
    private readonly pool: pg.Pool,
    options: { token?: string } = {},
  ) {
    this.token = options.token;
  }

  private async rows(sql: string, params: unknown[]): Promise<Record<string, unknown>[]> {
    try {
      const { rows } = await this.pool.query(sql, params);
      return rows;
    } catch (err) {
      throw classifyDatabaseError(err);
    }
  }

  private async one<T>(sql: string, params: unknown[]): Promise<T> {
    const rows = await this.rows(sql, params);
    return (rows[0] as { v: T }).v;
  }

  /** With a token: `ccm.agent_<name>($token, ...rest)`; without: `ccm.<internal>($agentId, ...)`. */
  private tokenCall<T>(name: string, rest: unknown[]): Promise<T> {
    const params = [this.token, ...rest];
    return this.one(`select ccm.agent_${name}(${params.map((_, i) => `$${i + 1}`).join(", ")}) as v`, params);
  }

  async enroll(e: Enrolment): Promise<string> {
    const args = [e.aliases, JSON.stringify(e.labels), e.version, e.playbooks, JSON.stringify(e.facts)];
    if (this.token) {
      const [row] = await this.rows("select agent_id from ccm.agent_register($1, $2, $3, $4, $5, $6)", [this.token, ...args]);
      return (row as { agent_id: string }).agent_id;
    }
    return this.one("select ccm.enroll_agent($1, $2, $3, $4, $5, $6) as v", [e.host, ...args]);
  }

  heartbeat(agentId: string, facts?: Record<string, unknown>): Promise<boolean> {
    const f = facts ? JSON.stringify(facts) : null;
    if (this.token) return this.tokenCall("heartbeat", [f]);
    return this.one("select ccm.heartbeat($1, $2) as v", [agentId, f]);
  }

  async claimRuns(agentId: string, limit: number, leaseSeconds: number): Promise<ClaimedRun[]> {
    const rows = this.token
      ? await this.rows("select * from ccm.agent_claim_runs($1, $2, $3)", [this.token, limit, leaseSeconds])
      : await this.rows("select * from ccm.claim_runs($1, $2, $3)", [agentId, limit, leaseSeconds]);
    return rows.map((r) => claimedRunSchema.parse(r));
  }

  startRun(runId: string, agentId: string, playbook: string, idempotent: boolean, dryRun: boolean): Promise<boolean> {
    if (this.token) return this.tokenCall("start_run", [runId, playbook, idempotent, dryRun]);
    return this.one("select ccm.start_run($1, $2, $3, $4, $5) as v", [runId, agentId, playbook, idempotent, dryRun]);
  }

  renewLease(runId: string, agentId: string, leaseSeconds: number): Promise<string> {
    if (this.token) return this.tokenCall("renew_lease", [runId, leaseSeconds]);
    return this.one("select ccm.renew_lease($1, $2, $3) as v", [runId, agentId, leaseSeconds]);
  }

  async recordStep(runId: string, agentId: string, phase: string, action: string, args: unknown): Promise<number> {
    const a = JSON.stringify(args ?? {});
    const id = this.token
      ? await this.tokenCall<string>("record_step", [runId, phase, action, a])
      : await this.one<string>("select ccm.record_step($1, $2, $3, $4, $5) as v", [runId, agentId, phase, action, a]);
    return Number(id);
  }

  async finishStep(stepId: number, agentId: string, r: StepResult): Promise<void> {
    const rest = [
      r.status,
      r.detail ?? null,
      r.data === undefined ? null : JSON.stringify(r.data),
      r.exitCode ?? null,
      r.durationMs === undefined ? null : Math.round(r.durationMs),
      r.outputTail ?? null,
    ];
    if (this.token) {
      await this.tokenCall("finish_step", [stepId, ...rest]);
      return;
    }
    await this.one("select ccm.finish_step($1, $2, $3, $4, $5, $6, $7, $8) as v", [stepId, agentId, ...rest]);
  }

  finishRun(
    runId: string,
    agentId: string,
    status: FinalRunStatus,
    summary: string,
    result: unknown,
    error?: string,
  ): Promise<boolean> {
    const rest = [status, summary, JSON.stringify(result ?? null), error ?? null];
    if (this.token) return this.tokenCall("finish_run", [runId, ...rest]);
    return this.one("select ccm.finish_run($1, $2, $3, $4, $5, $6) as v", [runId, agentId, ...rest]);
  }

  releaseRun(runId: string, agentId: string, reason: string): Promise<string> {
    if (this.token) return this.tokenCall("release_run", [runId, reason]);
    return this.one("select ccm.release_run($1, $2, $3) as v", [runId, agentId, reason]);
  }
}
