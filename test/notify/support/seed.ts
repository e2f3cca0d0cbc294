import type { Pool } from "@ccm/store";

let fp = 0;

/** An enrolled agent for `host`; returns its id. */
export async function enroll(pool: Pool, host: string): Promise<string> {
  const { rows } = await pool.query("select ccm.enroll_agent($1) as id", [host]);
  return rows[0].id as string;
}

/** A firing alert for `host` through the real ingest: a task with a queued run. */
export async function fire(pool: Pool, host: string, alertname: string, labels: Record<string, string> = {}): Promise<{ taskId: string; fingerprint: string }> {
  const fingerprint = `fp${++fp}${Date.now().toString(36)}`;
  const alert = {
    fingerprint,
    status: "firing",
    labels: { alertname, host, ...labels },
    annotations: { summary: `${alertname} on ${host}` },
    startsAt: new Date(Date.now() - 60_000).toISOString(),
    endsAt: null,
    generatorURL: null,
  };
  const { rows } = await pool.query("select * from ccm.ingest_alerts('alertmanager', 'g', $1)", [JSON.stringify([alert])]);
  return { taskId: rows[0].task_id as string, fingerprint };
}

/** The alert's source says it ended. */
export async function resolve(pool: Pool, host: string, alertname: string, fingerprint: string): Promise<void> {
  const { rows } = await pool.query("select starts_at from ccm.alerts where fingerprint = $1 and status = 'firing'", [fingerprint]);
  const alert = {
    fingerprint,
    status: "resolved",
    labels: { alertname, host },
    annotations: {},
    startsAt: (rows[0].starts_at as Date).toISOString(),
    endsAt: new Date().toISOString(),
  };
  await pool.query("select * from ccm.ingest_alerts('alertmanager', 'g', $1)", [JSON.stringify([alert])]);
}

/** Claim and start the task's queued run as its agent would, with a diagnose step. Returns run and agent ids. */
export async function startRun(pool: Pool, taskId: string, options: { dryRun?: boolean; confidence?: unknown } = {}): Promise<{ runId: string; agentId: string }> {
  const { rows } = await pool.query("select id, agent_id from ccm.runs where task_id = $1 and status = 'queued'", [taskId]);
  const { id: runId, agent_id: agentId } = rows[0] as { id: string; agent_id: string };
  await pool.query("select * from ccm.claim_runs($1, 100, 60)", [agentId]);
  await pool.query("select ccm.start_run($1, $2, 'disk-full', true, $3)", [runId, agentId, options.dryRun ?? false]);
  const step = await pool.query("select ccm.record_step($1, $2, 'diagnose', 'df', '{}') as id", [runId, agentId]);
  await pool.query("select ccm.finish_step($1, $2, 'ok', 'root filesystem 97% full; 4.1 GiB in /var/log')", [step.rows[0].id, agentId]);
  if (options.confidence) await pool.query("select ccm.save_confidence($1, $2, $3)", [runId, agentId, JSON.stringify(options.confidence)]);
  return { runId, agentId };
}

/** Finish a started run with a final status (the agent's ccm.finish_run). */
export async function finish(pool: Pool, runId: string, agentId: string, status: string, summary = `run ${status}`): Promise<void> {
  if (status === "succeeded") {
    const s = await pool.query("select ccm.record_step($1, $2, 'remediate', 'clean_files', '{}') as id", [runId, agentId]);
    await pool.query("select ccm.finish_step($1, $2, 'ok', 'removed 3.2 GiB of rotated logs')", [s.rows[0].id, agentId]);
  }
  const ok = await pool.query("select ccm.finish_run($1, $2, $3, $4, $5) as ok", [runId, agentId, status, summary, JSON.stringify({ verified: status === "succeeded" })]);
  if (ok.rows[0].ok !== true) throw new Error(`finish_run(${status}) refused`);
}

/** Stop a started run at awaiting_approval with a proposal (the engine's ccm.request_approval). */
export async function askApproval(pool: Pool, runId: string, agentId: string): Promise<void> {
  const proposal = [{ action: "restart_service", target: "nginx", detail: "systemctl restart nginx" }];
  const { rows } = await pool.query("select ccm.request_approval($1, $2, 'nginx is wedged; restart proposed', $3) as ok", [runId, agentId, JSON.stringify(proposal)]);
  if (rows[0].ok !== true) throw new Error("request_approval refused");
}
