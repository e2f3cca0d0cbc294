// Shared by the engine tests: a real agent store on a test database, alerts turned into claimed runs,
// and a playbook whose remediation writes a marker file, so "did it act?" is a file on disk.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { z } from "zod";
import { silentLogger } from "@ccm/logger";
import { createHostActions, type Playbook } from "@ccm/playbooks";
import { ingestAlerts, PgAgentStore, PgRemediationStore, type ClaimedRun, type Pool } from "@ccm/store";
import type { ExecutorDeps } from "./run-executor.ts";

const markerConfig = z.object({ marker: z.string() }).strict();
type MarkerConfig = z.infer<typeof markerConfig>;

/** A playbook for alert `alertname` that proposes writing its configured marker file, `steps` times. */
export function markerPlaybook(
  name: string,
  opts: { steps?: number; afterStep?: (i: number) => Promise<void> } = {},
): Playbook<MarkerConfig, null> {
  return {
    name,
    version: "1.0.0",
    description: "test: writes a marker file",
    risk: "low",
    blastRadius: "files",
    idempotent: true,
    runbook: "test",
    configSchema: markerConfig,
    match: (labels) => (labels.alertname === name ? { quality: 1, reason: `alertname ${name}` } : null),
    async diagnose(ctx) {
      await ctx.step("diagnose", "look", {}, async () => ({ status: "ok" }));
      return {
        verdict: "remediate",
        confirmed: true,
        summary: "marker missing",
        findings: { marker: ctx.config.marker },
        proposal: [{ action: "write_marker", target: ctx.config.marker }],
        state: null,
      };
    },
    async remediate(ctx) {
      for (let i = 0; i < (opts.steps ?? 1); i++) {
        await ctx.step("remediate", "write_marker", { file: ctx.config.marker, i }, async () => {
          if (ctx.dryRun) return { status: "dry_run" as const };
          await writeFile(ctx.config.marker, `${i}\n`, { flag: "a" });
          return { status: "ok" as const };
        });
        await opts.afterStep?.(i);
      }
      return { summary: "written" };
    },
    async verify(ctx) {
      const ok = existsSync(ctx.config.marker);
      await ctx.step("verify", "check_marker", {}, async () => ({ status: "ok", detail: String(ok) }));
      return { ok, summary: ok ? "marker written" : "marker still missing" };
    },
  };
}

export interface EngineHarness {
  pool: Pool;
  agentId: string;
  host: string;
  deps(over?: Partial<ExecutorDeps>): ExecutorDeps;
  /** Ingest a firing alert for this host and claim its run. */
  alertRun(labels: Record<string, string>): Promise<ClaimedRun>;
  /** Claim the next queued run of this agent (e.g. an approval's continuation). */
  claimNext(): Promise<ClaimedRun>;
}

export async function engineHarness(pool: Pool, base: Omit<Partial<ExecutorDeps>, "store" | "remediation" | "agentId">): Promise<EngineHarness> {
  const store = new PgAgentStore(pool);
  const remediation = new PgRemediationStore(pool);
  const host = `engine-${randomBytes(3).toString("hex")}`;
  const agentId = await store.enroll({ host, aliases: [], labels: { role: "web" }, version: "t", playbooks: [], facts: {} });
  const claimNext = async () => {
    const [run] = await store.claimRuns(agentId, 1, 30);
    if (!run) throw new Error("no queued run to claim");
    return run;
  };
  return {
    pool,
    agentId,
    host,
    deps: (over = {}) => ({
      store,
      remediation,
      agentId,
      host,
      hostGroup: "default",
      playbooks: [],
      playbookConfig: {},
      actions: createHostActions({}),
      dryRun: false,
      stopFile: null,
      rails: { recheck_ms: 50, concurrency_wait_ms: 300, maintenance_wait_ms: 10_000 },
      leaseSeconds: 30,
      log: silentLogger(),
      ...base,
      ...over,
    }),
    async alertRun(labels) {
      await ingestAlerts(pool, "test", null, [
        {
          fingerprint: randomBytes(6).toString("hex"),
          status: "firing",
          labels: { host, ...labels },
          annotations: {},
          startsAt: new Date().toISOString(),
          endsAt: null,
          generatorURL: null,
          raw: {},
        },
      ]);
      return claimNext();
    },
    claimNext,
  };
}

export const runRow = async (pool: Pool, runId: string) =>
  (
    await pool.query(
      `select r.status, r.summary, r.result, r.confidence, r.proposal, r.outcome, r.dry_run, r.remediation_started_at, t.status as task_status
         from ccm.runs r join ccm.tasks t on t.id = r.task_id where r.id = $1`,
      [runId],
    )
  ).rows[0] as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const stepsOf = async (pool: Pool, runId: string) =>
  (await pool.query("select phase, action, status, detail, args from ccm.run_steps where run_id = $1 order by seq", [runId])).rows as Array<{
    phase: string;
    action: string;
    status: string;
    detail: string | null;
    args: Record<string, unknown>;
  }>;
