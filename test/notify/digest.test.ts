import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "@ccm/logger";
import { createPool } from "@ccm/store";
import { buildDigest, digestLines, runScheduledDigest } from "@ccm/notify";
import { createTestDatabase, waitFor, type TestDatabase } from "../support/db.ts";
import { runCcm } from "../support/processes.ts";
import { startOutboxWorker } from "../../apps/hub/src/workers/outbox.ts";
import { Receiver } from "./support/receiver.ts";
import { testNotifyConfig } from "./support/config.ts";
import { outbox } from "./support/outbox-rows.ts";
import { askApproval, enroll, finish, fire, startRun } from "./support/seed.ts";

let db: TestDatabase;
let t0: Date;

async function runWith(host: string, alertname: string, status: string, options: { dryRun?: boolean; result?: object } = {}) {
  const { taskId } = await fire(db.pool, host, alertname);
  const { runId, agentId } = await startRun(db.pool, taskId, { dryRun: options.dryRun });
  if (status === "awaiting_approval") await askApproval(db.pool, runId, agentId);
  else await finish(db.pool, runId, agentId, status);
  if (options.result) await db.pool.query("update ccm.runs set result = $2 where id = $1", [runId, JSON.stringify(options.result)]);
  return runId;
}

beforeAll(async () => {
  db = await createTestDatabase();
  t0 = new Date(Date.now() - 1000);
  for (const h of ["web-1", "web-2", "db-1", "old-1"]) await enroll(db.pool, h);
  await db.pool.query("update ccm.agents set last_seen = now() - interval '1 hour' where host = 'old-1'");
  // Seeded history: 3 fixes on web-1, 1 on web-2, a dry run, each kind of trouble, one pending approval.
  for (let i = 0; i < 3; i++) await runWith("web-1", `DiskFull${i}`, "succeeded");
  await runWith("web-2", "DiskFull", "succeeded");
  await runWith("web-2", "DiskFullDry", "succeeded", { dryRun: true });
  await runWith("db-1", "PostgresDown", "escalated");
  await runWith("db-1", "ReplicationLag", "failed");
  await runWith("web-1", "Wedged", "unknown");
  await runWith("web-1", "BudgetSpent", "escalated", { result: { blocked_by: "budget" } });
  await runWith("web-2", "NginxWedged", "awaiting_approval");
  // Older history outside the period.
  const old = await runWith("db-1", "Ancient", "failed");
  await db.pool.query("update ccm.runs set finished_at = now() - interval '3 days' where id = $1", [old]);
  await db.pool.query("update ccm.tasks t set created_at = now() - interval '3 days' from ccm.runs r where r.id = $1 and t.id = r.task_id", [old]);
  await db.pool.query("update ccm.alerts set received_at = now() - interval '3 days' where alertname = 'Ancient'");
});
afterAll(async () => {
  await db?.drop();
});

describe("morning digest", () => {
  it("sums up the period from the history tables", async () => {
    const d = await buildDigest(db.pool, t0, new Date(Date.now() + 1000), 300);
    expect(d.alerts).toEqual({ firing: 10, resolved: 0 });
    expect(d.counts).toEqual({ succeeded: 4, dryRun: 1, escalated: 2, failed: 1, unknown: 1, cancelled: 0, awaitingApproval: 1 });
    expect(d.fixedByPlaybook).toEqual([{ playbook: "disk-full", n: 4 }]);
    expect(d.topHosts[0]).toEqual({ host: "web-1", n: 5 });
    expect(d.budgetHits).toEqual([{ playbook: "disk-full", n: 1 }]);
    expect(d.offlineAgents.map((a) => a.host)).toEqual(["old-1"]);
    expect(d.pendingApprovals.map((p) => p.alertname)).toEqual(["NginxWedged"]);
    expect(d.needsHuman.map((n) => n.alertname).sort()).toEqual(["BudgetSpent", "PostgresDown", "ReplicationLag", "Wedged"]);
    // Alerts started 60 s before they were fixed (seed): MTTR about a minute.
    expect(d.mttrSeconds).toBeGreaterThanOrEqual(59);
    expect(d.mttrSeconds).toBeLessThan(120);
    const text = digestLines(d, "Europe/Paris").join("\n");
    expect(text).toContain("auto-fixed:         4  (disk-full 4)");
    expect(text).toContain("hit their budget:   disk-full (1)");
    expect(text).toContain("agents offline:     1  (old-1)");
    expect(text).toContain("(Europe/Paris)");
  });

  it("is enqueued once per local day across concurrent replicas and restarts", async () => {
    const schedule = { time: "08:00", timeZone: "Europe/Paris", offlineAfterS: 300, channel: "#digest" };
    const pools = [0, 1, 2, 3].map(() => createPool(db.url, { max: 1 }));
    try {
      // 07:59 in Paris (CET, UTC+1): not due.
      expect((await runScheduledDigest(db.pool, schedule, new Date("2026-11-24T06:59:00Z"))).outcome).toBe("not_due");
      const at = new Date("2026-11-24T07:05:00Z");
      const results = await Promise.all(pools.map((p) => runScheduledDigest(p, schedule, at)));
      expect(results.map((r) => r.outcome).sort()).toEqual(["already_sent", "already_sent", "already_sent", "enqueued"]);
      // A restart later that morning does not send it again.
      expect((await runScheduledDigest(db.pool, schedule, new Date("2026-11-24T09:00:00Z"))).outcome).toBe("already_sent");
      // Next day: a new digest covering from the previous one's end.
      const next = await runScheduledDigest(db.pool, schedule, new Date("2026-11-25T07:01:00Z"));
      expect(next.outcome).toBe("enqueued");
      if (next.outcome === "enqueued") expect(next.digest.periodStart).toEqual(at);
      const { rows } = await db.pool.query("select day::text, notification_id is not null as linked from ccm.digest_runs order by day");
      expect(rows).toEqual([{ day: "2026-11-24", linked: true }, { day: "2026-11-25", linked: true }]);
      expect((await outbox(db.pool, "kind = 'digest'")).map((r) => r.dedup_key)).toEqual(["digest:2026-11-24", "digest:2026-11-25"]);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it("is delivered to the digest channel as one Block Kit message", async () => {
    const receiver = await new Receiver().start();
    const pool = createPool(db.url, { max: 2 });
    const worker = startOutboxWorker(pool, silentLogger(), { ...testNotifyConfig(receiver.url, receiver.url), CCM_PAGERDUTY_ROUTING_KEY: undefined }, "d");
    try {
      await waitFor("digests sent", async () => (await outbox(db.pool, "kind = 'digest'")).every((r) => r.status === "sent"));
      const digests = receiver.accepted("/chat.postMessage").filter((r) => r.body.channel === "#digest");
      expect(digests).toHaveLength(2);
      expect(JSON.stringify(digests[0]?.body.blocks)).toContain("Auto-fixed");
    } finally {
      await worker.stop();
      await pool.end();
      await receiver.stop();
    }
  });

  it("`ccm digest --since 12h --dry-run` prints it and queues nothing; without --dry-run it is queued for Slack", async () => {
    const before = (await outbox(db.pool, "kind = 'digest'")).length;
    const dry = await runCcm(["digest", "--since", "12h", "--dry-run"], { DATABASE_URL: db.url, CCM_DIGEST_TZ: "UTC" });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain("auto-fixed:         4  (disk-full 4)");
    expect(dry.stdout).toContain("escalated:          2");
    expect((await outbox(db.pool, "kind = 'digest'")).length).toBe(before);
    const sent = await runCcm(["digest", "--since", "12h"], { DATABASE_URL: db.url });
    expect(sent.code).toBe(0);
    expect((await outbox(db.pool, "kind = 'digest'")).length).toBe(before + 1);
    const bad = await runCcm(["digest", "--since", "yesterday"], { DATABASE_URL: db.url });
    expect(bad.code).toBe(2);
    expect(bad.output).toContain("--since must look like 30m, 12h or 2d");
  });
});
