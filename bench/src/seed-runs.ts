import { PgAgentStore, type Pool } from "@ccm/store";

/** Enrol `count` agents named `<prefix>-<i>` through ccm.enroll_agent; ids in name order. */
export async function enrolAgents(pool: Pool, prefix: string, count: number): Promise<string[]> {
  const store = new PgAgentStore(pool);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    ids.push(await store.enroll({ host: `${prefix}-${String(i).padStart(4, "0")}`, aliases: [], labels: {}, version: "bench", playbooks: [], facts: {} }));
  }
  return ids;
}

/**
 * `count` queued tasks, each with its queued run, dealt round-robin over `agentIds` (run i goes to
 * agent i mod n). Inserted in one statement, not through ingest: throughput is about claiming,
 * and a seeded queue is the same for every case. Ends with ANALYZE so every case sees fresh stats.
 */
export async function seedQueuedRuns(pool: Pool, agentIds: readonly string[], count: number): Promise<void> {
  await pool.query(
    `with a as (
       select id, host, (row_number() over (order by array_position($1::uuid[], id)) - 1)::int as i
         from ccm.agents where id = any($1::uuid[])
     ), t as (
       insert into ccm.tasks (source, status, host, agent_id, alertname, fingerprint, labels)
       select 'bench', 'queued', a.host, a.id, 'BenchNoop', 'tp-' || g,
              jsonb_build_object('alertname', 'BenchNoop', 'host', a.host)
         from generate_series(0, $2::int - 1) g join a on a.i = g % cardinality($1::uuid[])
       returning id, agent_id
     )
     insert into ccm.runs (task_id, agent_id) select id, agent_id from t`,
    [agentIds, count],
  );
  await pool.query("analyze ccm.tasks, ccm.runs, ccm.agents");
}
