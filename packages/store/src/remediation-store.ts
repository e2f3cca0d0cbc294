import { z } from "zod";
import type pg from "pg";
import { classifyDatabaseError } from "./errors.ts";

// What the playbook engine asks of the hub's state, beyond the run lifecycle in AgentStore:
// context, confidence, track record, approval, and the safety rails. Kept apart from AgentStore so
// a transport can implement it on its own; the SQL functions are the contract.

export const proposedActionSchema = z.object({ action: z.string(), target: z.string(), detail: z.string().optional() });
export type ProposedActionRow = z.infer<typeof proposedActionSchema>;

export const runContextSchema = z.object({
  task_dry_run: z.boolean().nullable(),
  approval: z
    .object({
      run_id: z.string(),
      decided_by: z.string(),
      reason: z.string().nullable(),
      decided_at: z.string(),
      proposal: z.array(proposedActionSchema),
    })
    .nullable(),
  // Set when the run belongs to a fleet broadcast: the agent runs exactly this playbook with these params.
  broadcast: z
    .object({ id: z.string(), playbook: z.string(), params: z.record(z.string(), z.unknown()), dry_run: z.boolean(), created_by: z.string() })
    .nullable()
    .optional(),
  // Set on a `command` broadcast's task: the signed ad-hoc command (verified by the agent, never trusted as is).
  command: z.unknown().optional(),
});
export type RunContext = z.infer<typeof runContextSchema>;

export const gateSchema = z.union([
  z.object({ kind: z.literal("paused"), by: z.string().nullable(), reason: z.string().nullable(), since: z.string() }),
  z.object({
    kind: z.literal("maintenance"),
    id: z.string(),
    name: z.string(),
    mode: z.enum(["wait", "skip"]),
    ends_at: z.string(),
    by: z.string().nullable(),
    reason: z.string().nullable(),
  }),
]);
/** Why remediation may not proceed right now (null: it may). */
export type GateBlock = z.infer<typeof gateSchema>;

export const beginRemediationSchema = z.union([
  z.object({ ok: z.literal(true) }),
  z.object({
    ok: z.literal(false),
    reason: z.literal("budget"),
    max_per_host: z.number(),
    per_interval: z.string(),
    count: z.number(),
    history: z.array(z.record(z.string(), z.unknown())),
  }),
  z.object({ ok: z.literal(false), reason: z.literal("concurrency"), max_concurrent: z.number(), running: z.number() }),
]);
export type BeginRemediation = z.infer<typeof beginRemediationSchema>;

export interface TrackRecord {
  successes: number;
  failures: number;
}

export interface RemediationStore {
  runContext(runId: string, agentId: string): Promise<RunContext>;
  trackRecord(playbook: string, alertClass: string, hostGroup: string): Promise<TrackRecord>;
  saveConfidence(runId: string, agentId: string, confidence: unknown, proposal: unknown, hostGroup: string): Promise<boolean>;
  requestApproval(runId: string, agentId: string, summary: string, proposal: unknown, result: unknown): Promise<boolean>;
  remediationGate(agentId: string): Promise<GateBlock | null>;
  beginRemediation(runId: string, agentId: string, opts: { approved: boolean; claim: boolean }): Promise<BeginRemediation>;
  recordOutcome(runId: string, agentId: string, success: boolean): Promise<boolean>;
  skipRun(runId: string, agentId: string, summary: string, result: unknown): Promise<boolean>;
}

/**
 * The postgres transport of RemediationStore. Without a token it calls the internal functions as
 * the schema owner; with one, only the ccm.agent_* wrappers, which derive the agent from the token.
 */
export class PgRemediationStore implements RemediationStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly options: { token?: string } = {},
  ) {}

  /** `ccm.<name>($runId?, $agentId, ...)` or, with a token, `ccm.agent_<name>($token, $runId?, ...)`. */
  private call<T>(name: string, runId: string | null, agentId: string, rest: unknown[]): Promise<T> {
    const token = this.options.token;
    const args = token ? [token, ...(runId ? [runId] : []), ...rest] : [...(runId ? [runId] : []), agentId, ...rest];
    const placeholders = args.map((_, i) => `$${i + 1}`).join(", ");
    return this.one<T>(`select ccm.${token ? "agent_" : ""}${name}(${placeholders}) as v`, args);
  }

  private async one<T>(sql: string, params: unknown[]): Promise<T> {
    try {
      const { rows } = await this.pool.query(sql, params);
      return (rows[0] as { v: T }).v;
    } catch (err) {
      throw classifyDatabaseError(err);
    }
  }

  async runContext(runId: string, agentId: string): Promise<RunContext> {
    const v = await this.call<unknown>("run_context", runId, agentId, []);
    return runContextSchema.parse(v ?? { task_dry_run: null, approval: null });
  }

  async trackRecord(playbook: string, alertClass: string, hostGroup: string): Promise<TrackRecord> {
    try {
      const { rows } = this.options.token
        ? await this.pool.query("select successes, failures from ccm.agent_track_record($1, $2, $3, $4)", [
            this.options.token,
            playbook,
            alertClass,
            hostGroup,
          ])
        : await this.pool.query("select successes, failures from ccm.track_record($1, $2, $3)", [playbook, alertClass, hostGroup]);
      return z.object({ successes: z.number(), failures: z.number() }).parse(rows[0]);
    } catch (err) {
      throw classifyDatabaseError(err);
    }
  }

  saveConfidence(runId: string, agentId: string, confidence: unknown, proposal: unknown, hostGroup: string): Promise<boolean> {
    return this.call("save_confidence", runId, agentId, [JSON.stringify(confidence), JSON.stringify(proposal), hostGroup]);
  }

  requestApproval(runId: string, agentId: string, summary: string, proposal: unknown, result: unknown): Promise<boolean> {
    return this.call("request_approval", runId, agentId, [summary, JSON.stringify(proposal), JSON.stringify(result ?? null)]);
  }

  async remediationGate(agentId: string): Promise<GateBlock | null> {
    const v = await this.call<unknown>("remediation_gate", null, agentId, []);
    return v === null ? null : gateSchema.parse(v);
  }

  async beginRemediation(runId: string, agentId: string, opts: { approved: boolean; claim: boolean }): Promise<BeginRemediation> {
    const v = await this.call<unknown>("begin_remediation", runId, agentId, [opts.approved, opts.claim]);
    return beginRemediationSchema.parse(v);
  }

  recordOutcome(runId: string, agentId: string, success: boolean): Promise<boolean> {
    return this.call("record_outcome", runId, agentId, [success]);
  }

  skipRun(runId: string, agentId: string, summary: string, result: unknown): Promise<boolean> {
    return this.call("skip_run", runId, agentId, [summary, JSON.stringify(result ?? null)]);
  }
}
