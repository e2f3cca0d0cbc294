import type { Pool } from "@ccm/store";

/**
 * `count` historical tasks, runs and alerts over 30 days on 50 agents, one a minute back from now
 * (the only copy: the digest is measured here, not in test/): run statuses 4/8 succeeded,
 * 1/8 each escalated, failed, unknown, cancelled; three playbooks; 1 in 17 a dry run; 1 in 101 blocked
 * by a budget; a third of the alerts resolved.
 */
export async function seedHistory(pool: Pool, count: number): Promise<void> {
  await pool.query("truncate ccm.notifications, ccm.alerts, ccm.tasks, ccm.runs, ccm.run_steps, ccm.agents cascade");
  await pool.query(`insert into ccm.agents (host, last_seen) select 'host-' || g, now() - (g % 7) * interval '5 minutes' from generate_series(1, 50) g`);
  await pool.query(
    `insert into ccm.tasks (id, source, status, host, alertname, dedup_key, created_at, starts_at)
     select md5('t' || g)::uuid, 'alertmanager', 'succeeded', 'host-' || (g % 50 + 1), 'Alert' || (g % 40),
            null, now() - (g % 43200) * interval '1 minute', now() - (g % 43200) * interval '1 minute' - interval '2 minutes'
       from generate_series(1, $1::int) g`,
    [count],
  );
  await pool.query(
    `insert into ccm.runs (task_id, agent_id, status, playbook, dry_run, finished_at, result, created_at)
     select md5('t' || g)::uuid, (select id from ccm.agents where host = 'host-' || (g % 50 + 1)),
            (array['succeeded','succeeded','succeeded','succeeded','escalated','failed','unknown','cancelled'])[g % 8 + 1],
            (array['disk-full','restart-service','rotate-logs'])[g % 3 + 1], g % 17 = 0,
            now() - (g % 43200) * interval '1 minute',
            case when g % 101 = 0 then '{"blocked_by":"budget"}'::jsonb else '{}'::jsonb end,
            now() - (g % 43200) * interval '1 minute' - interval '1 minute'
       from generate_series(1, $1::int) g`,
    [count],
  );
  await pool.query(
    `insert into ccm.alerts (source, idempotency_key, fingerprint, status, alertname, host, outcome, raw, received_at)
     select 'alertmanager', 'k' || g, 'f' || g, case when g % 3 = 0 then 'resolved' else 'firing' end, 'Alert' || (g % 40),
            'host-' || (g % 50 + 1), 'created', '{}'::jsonb, now() - (g % 43200) * interval '1 minute'
       from generate_series(1, $1::int) g`,
    [count],
  );
  await pool.query("analyze");
}
