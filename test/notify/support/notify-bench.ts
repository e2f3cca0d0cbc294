// Measures (not a test): outbox throughput to a local receiver (the digest's build time is
// `pnpm bench digest`). Usage: npx tsx test/notify/support/notify-bench.ts postgres://postgres@127.0.0.1:5432/<scratch db>
// The database is migrated and then filled: use a scratch database.
import { performance } from "node:perf_hooks";
import { silentLogger } from "@ccm/logger";
import { createPool, migrate } from "@ccm/store";
import { startOutboxWorker } from "../../../apps/hub/src/workers/outbox.ts";
import { Receiver } from "./receiver.ts";
import { testNotifyConfig } from "./config.ts";

const url = process.argv[2];
if (!url) throw new Error("usage: notify-bench.ts <database url>");
await migrate(url);
const pool = createPool(url, { max: 4 });
await pool.query("truncate ccm.notifications, ccm.alerts, ccm.tasks, ccm.runs, ccm.run_steps, ccm.agents cascade");
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
