import type { Pool } from "@ccm/store";
import { waitFor } from "../support/db.ts";

// Agents simulated in SQL for the rollout tests: the same functions a real agent calls
// (ccm.enroll_agent, claim_runs, start_run, finish_run), without processes.

export async function enroll(pool: Pool, host: string, labels: Record<string, string>, playbooks = ["collect-facts", "package-update"], aliases: string[] = []): Promise<string> {
  const { rows } = await pool.query("select ccm.enroll_agent($1, $2, $3, '1', $4) as id", [host, aliases, labels, playbooks]);
  return rows[0].id as string;
}

/** Claim this host's released run (if any), start it and finish it with `status`; false when nothing was claimable. */
export async function work(pool: Pool, host: string, status: "succeeded" | "failed", result: Record<string, unknown> | null = null, summary = "done"): Promise<boolean> {
  const { rows: a } = await pool.query("select id from ccm.agents where host = $1", [host]);
  const agent = a[0]?.id as string;
  const { rows } = await pool.query("select run_id from ccm.claim_runs($1, 1, 30)", [agent]);
  const run = rows[0]?.run_id as string | undefined;
  if (!run) return false;
  await pool.query("select ccm.start_run($1, $2, 'collect-facts', true, false)", [run, agent]);
  await pool.query("select ccm.finish_run($1, $2, $3, $4, $5)", [run, agent, status, summary, result]);
  return true;
}

/** Insert a broadcast as Supabase Studio would: a plain INSERT. */
export async function insertBroadcast(pool: Pool, cols: Record<string, unknown>): Promise<string> {
  const keys = Object.keys(cols);
  const values = keys.map((k) => (typeof cols[k] === "object" && cols[k] !== null ? JSON.stringify(cols[k]) : cols[k]));
  const { rows } = await pool.query(
    `insert into ccm.broadcasts (${keys.join(", ")}) values (${keys.map((_, i) => `$${i + 1}`).join(", ")}) returning id`,
    values,
  );
  return rows[0].id as string;
}

/** host -> task state of a broadcast. */
export async function states(pool: Pool, id: string): Promise<Record<string, string>> {
  const { rows } = await pool.query("select host, status from ccm.tasks where broadcast_id = $1 order by broadcast_position", [id]);
  return Object.fromEntries(rows.map((r) => [r.host as string, r.status as string]));
}

export async function broadcast(pool: Pool, id: string): Promise<Record<string, unknown>> {
  const { rows } = await pool.query("select * from ccm.broadcasts where id = $1", [id]);
  return rows[0] as Record<string, unknown>;
}

export const hostsIn = (s: Record<string, string>, state: string) => Object.keys(s).filter((h) => s[h] === state).sort();

/** Wait until the broadcast has finished; on timeout, `context()` (process output) is added to the error. */
export async function broadcastFinished(pool: Pool, id: string, timeoutMs: number, context: () => string = () => ""): Promise<{ status: string; summary: string }> {
  return waitFor(
    `broadcast ${id} finished`,
    async () => (await pool.query("select status, summary from ccm.broadcasts where id = $1 and finished_at is not null", [id])).rows[0],
    timeoutMs,
    200,
  ).catch((err) => {
    throw new Error(`${String(err)}\n${context()}`);
  });
}
