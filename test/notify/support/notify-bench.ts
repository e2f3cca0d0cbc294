// Measures (not a test): digest build time over 100,000 historical runs, and outbox throughput to a
// local receiver. Usage: npx tsx test/notify/support/notify-bench.ts postgres://postgres@127.0.0.1:5432/<scratch db>
// The database is migrated and then filled: use a scratch database.
import { performance } from "node:perf_hooks";
import { silentLogger } from "@ccm/logger";
import { createPool, migrate } from "@ccm/store";
import { buildDigest } from "@ccm/notify";
import { startOutboxWorker } from "../../../apps/hub/src/workers/outbox.ts";
import { Receiver } from "./receiver.ts";
import { testNotifyConfig } from "./config.ts";

const url = process.argv[2];
if (!url) throw new Error("usage: notify-bench.ts <database url>");
await migrate(url);
const pool = createPool(url, { max: 4 });
await pool.query("truncate ccm.notifications, ccm.alerts, ccm.tasks, ccm.runs, ccm.run_steps, ccm.agents cascade");
await pool.query(`insert into ccm.agents (host, last_seen) select 'host-' || g, now() - (g % 7) * interval '5 minutes' from generate_series(1, 50) g`);
const seed = performance.now();
await pool.query(`
  insert into ccm.tasks (id, source, status, host, alertname, dedup_key, created_at, starts_at)
  select md5('t' || g)::uuid, 'alertmanager', 'succeeded', 'host-' || (g % 50 + 1), 'Alert' || (g % 40),
         null, now() - (g % 43200) * interval '1 minute', now() - (g % 43200) * interval '1 minute' - interval '2 minutes'
    from generate_series(1, 100000) g`);
await pool.query(`
  insert into ccm.runs (task_id, agent_id, status, playbook, dry_run, finished_at, result, created_at)
  select md5('t' || g)::uuid, (select id from ccm.agents where host = 'host-' || (g % 50 + 1)),
         (array['succeeded','succeeded','succeeded','succeeded','escalated','failed','unknown','cancelled'])[g % 8 + 1],
         (array['disk-full','restart-service','rotate-logs'])[g % 3 + 1], g % 17 = 0,
         now() - (g % 43200) * interval '1 minute',
         case when g % 101 = 0 then '{"blocked_by":"budget"}'::jsonb else '{}'::jsonb end,
         now() - (g % 43200) * interval '1 minute' - interval '1 minute'
    from generate_series(1, 100000) g`);
await pool.query(`
  insert into ccm.alerts (source, idempotency_key, fingerprint, status, alertname, host, outcome, raw, received_at)
  select 'alertmanager', 'k' || g, 'f' || g, case when g % 3 = 0 then 'resolved' else 'firing' end, 'Alert' || (g % 40),
         'host-' || (g % 50 + 1), 'created', '{}'::jsonb, now() - (g % 43200) * interval '1 minute'
    from generate_series(1, 100000) g`);
await pool.query("analyze");
console.log(`seeded 100,000 tasks, runs and alerts over 30 days in ${Math.round(performance.now() - seed)} ms`);

for (const [label, hours] of [["last 24 h (~3,300 runs)", 24], ["last 30 days (all 100,000 runs)", 24 * 31]] as const) {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    await buildDigest(pool, new Date(Date.now() - hours * 3600_000), new Date(), 300);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  console.log(`digest build, ${label}: median ${times[2]?.toFixed(1)} ms, max ${times[4]?.toFixed(1)} ms (5 runs)`);
}

// Outbox throughput: 500 generic Slack notifications, no pacing, one worker, local receiver.
const receiver = await new Receiver().start();
await pool.query(`select ccm.enqueue_notification('slack', 'broadcast_done', 'bench:' || g, null, null, null,
                   jsonb_build_object('title', 'bench ' || g, 'text', 'x')) from generate_series(1, 500) g`);
const t = performance.now();
const worker = startOutboxWorker(pool, silentLogger(), testNotifyConfig(receiver.url, receiver.url, { CCM_NOTIFY_POLL_MS: "20" }), "bench");
for (;;) {
  const { rows } = await pool.query("select count(*)::int as n from ccm.notifications where status = 'sent'");
  if (rows[0].n >= 500) break;
  await new Promise((r) => setTimeout(r, 20));
}
const secs = (performance.now() - t) / 1000;
console.log(`outbox: 500 Slack notifications delivered in ${secs.toFixed(2)} s = ${(500 / secs).toFixed(0)}/s (one worker, pacing off)`);
await worker.stop();
await receiver.stop();
await pool.end();
