import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "@ccm/logger";
import { SupabaseCallError, createCcmSupabaseClient, decideApproval, pgDb, supabaseDb, type Db } from "@ccm/store";
import {
  buildDigest,
  claimNotifications,
  completeNotification,
  enqueueAdhocDigest,
  expireApprovals,
  failNotification,
  loadIncidentContext,
  notificationSchema,
  runScheduledDigest,
} from "@ccm/notify";
import { waitFor } from "../support/db.ts";
import { startOutboxWorker } from "../../apps/hub/src/workers/outbox.ts";
import { Receiver } from "../notify/support/receiver.ts";
import { testNotifyConfig } from "../notify/support/config.ts";
import { outbox, outboxDrained } from "../notify/support/outbox-rows.ts";
import { askApproval, enroll, finish, fire, resolve, startRun } from "../notify/support/seed.ts";
import { startFakeSupabase, type FakeSupabase } from "./fake-supabase.ts";
import { createSupabaseTestDatabase, type SupabaseTestDatabase } from "./supabase-db.ts";

const ANON_KEY = "anon-key-for-tests-0123456789";
const SERVICE_KEY = "service-key-for-tests-0123456789";

let db: SupabaseTestDatabase;
let fake: FakeSupabase;
let receiver: Receiver;
/** The hub's way in on Supabase: PostgREST rpc with the service-role key. */
let sb: Db;
/** The same calls over the direct connection, for comparison. */
let pgd: Db;

beforeAll(async () => {
  db = await createSupabaseTestDatabase({ realtime: false });
  fake = await startFakeSupabase({ pool: db.pool, anonKey: ANON_KEY, serviceKey: SERVICE_KEY });
  receiver = await new Receiver().start();
  sb = supabaseDb(createCcmSupabaseClient({ url: fake.url, key: SERVICE_KEY }));
  pgd = pgDb(db.pool);
});
afterAll(async () => {
  await receiver?.stop();
  await fake?.close();
  await db?.drop();
});

const rpcCalls = () => new Set(fake.requests.filter((r) => r.path.startsWith("/rest/v1/rpc/")).map((r) => r.path.slice("/rest/v1/rpc/".length)));

describe("notifications over the supabase transport (PostgREST rpc, service role)", () => {
  it("the outbox worker delivers an incident: Slack thread opened, PagerDuty triggered, then resolved", async () => {
    const worker = startOutboxWorker(sb, silentLogger(), testNotifyConfig(receiver.url, receiver.url), "sb-worker");
    try {
      await enroll(db.pool, "db-1");
      const { taskId, fingerprint } = await fire(db.pool, "db-1", "PostgresDown");
      const { runId, agentId } = await startRun(db.pool, taskId);
      await finish(db.pool, runId, agentId, "escalated", "postgres will not start: needs a human");
      await waitFor("escalation delivered", () => outboxDrained(db.pool));
      const posted = receiver.accepted("/chat.postMessage");
      expect(posted).toHaveLength(1);
      expect(JSON.stringify(posted[0]?.body.blocks)).toContain("PostgresDown");
      const { rows: threads } = await db.pool.query("select channel, thread_ts from ccm.slack_threads where incident_key = $1", [`task:${taskId}`]);
      expect(threads).toHaveLength(1);
      const trigger = receiver.accepted("/v2/enqueue").map((r) => r.body);
      expect(trigger).toMatchObject([{ event_action: "trigger", dedup_key: `task:${taskId}` }]);

      // The resolve reads the trigger's routing key back (ccm.notification_outcome) and replies in the thread.
      await resolve(db.pool, "db-1", "PostgresDown", fingerprint);
      await waitFor("resolve delivered", async () => receiver.accepted("/v2/enqueue").length === 2 && (await outboxDrained(db.pool)));
      expect(receiver.accepted("/v2/enqueue")[1]?.body).toMatchObject({ event_action: "resolve", dedup_key: `task:${taskId}` });
      expect((await outbox(db.pool)).map((r) => r.status)).not.toContain("failed");
    } finally {
      await worker.stop();
    }
    for (const fn of ["claim_notifications", "notification_incident_context", "find_slack_thread", "save_slack_thread", "notification_outcome", "complete_notification"]) {
      expect(rpcCalls(), fn).toContain(fn);
    }
    expect(fake.requests.every((r) => r.headers.apikey === SERVICE_KEY)).toBe(true);
  });

  it("claim, complete and fail answer what the direct connection reads, dates as Dates", async () => {
    for (const k of ["a", "b"]) {
      await sb.call("enqueue_notification", { p_channel: "slack", p_kind: "note", p_dedup_key: `note:${k}`, p_payload: { text: k } });
    }
    const claimed = await claimNotifications(sb, "w1", { limit: 10, leaseSeconds: 60, coalesceMs: 0 });
    const { rows } = await db.pool.query("select * from ccm.notifications where kind = 'note' order by id");
    expect(claimed).toEqual(rows.map((r) => notificationSchema.parse(r)));
    expect(claimed.map((n) => n.dedup_key)).toEqual(["note:a", "note:b"]);
    expect(claimed[0]?.created_at).toBeInstanceOf(Date);
    const [a, b] = claimed as [(typeof claimed)[number], (typeof claimed)[number]];

    expect(await completeNotification(sb, a.id, "w1", { channel: "C1", ts: "1.5" })).toBe(true);
    expect(await completeNotification(sb, a.id, "w1", null)).toBe(false); // no longer held
    expect(await failNotification(sb, b.id, "w2", "not mine", null)).toBe(false);
    const retryAt = new Date(Date.now() + 3_600_000);
    expect(await failNotification(sb, b.id, "w1", "slack said no", retryAt)).toBe(true);
    const after = await outbox(db.pool, "kind = 'note'");
    expect(after.map((r) => [r.status, r.last_error])).toEqual([["sent", null], ["pending", "slack said no"]]);
    const { rows: next } = await db.pool.query("select next_attempt_at from ccm.notifications where id = $1", [b.id]);
    expect((next[0] as { next_attempt_at: Date }).next_attempt_at).toEqual(retryAt);
  });

  it("incident context, approvals and their expiry: the same answers over both transports", async () => {
    await enroll(db.pool, "web-1");
    const { taskId } = await fire(db.pool, "web-1", "NginxWedged");
    const { runId, agentId } = await startRun(db.pool, taskId, { confidence: { score: 0.72, band: "approve" } });
    await askApproval(db.pool, runId, agentId);
    const ctx = await loadIncidentContext(sb, taskId, runId);
    expect(ctx).toEqual(await loadIncidentContext(pgd, taskId, runId));
    expect(ctx).toMatchObject({ task_id: taskId, run_id: runId, host: "web-1", run_status: "awaiting_approval", agent_host: "web-1" });
    expect(ctx?.task_created_at).toBeInstanceOf(Date);
    expect(ctx?.steps[0]).toMatchObject({ phase: "diagnose", action: "df", status: "ok" });
    expect(await loadIncidentContext(sb, "00000000-0000-0000-0000-000000000000", null)).toBeNull();

    const decided = await decideApproval(sb, runId, "rejected", "slack:alice (UALICE)", "not now");
    expect(decided).toMatchObject({ outcome: "decided", decision: "rejected", decided_by: "slack:alice (UALICE)" });
    expect(decided.decided_at).toBeInstanceOf(Date);
    expect(await decideApproval(sb, runId, "approved", "slack:bob (UBOB)", null)).toMatchObject({ outcome: "already_decided", decision: "rejected" });

    const second = await fire(db.pool, "web-1", "NginxWedgedAgain");
    const run2 = await startRun(db.pool, second.taskId);
    await askApproval(db.pool, run2.runId, run2.agentId);
    await db.pool.query("update ccm.approvals set requested_at = now() - interval '1 hour' where run_id = $1", [run2.runId]);
    expect(await expireApprovals(sb, 1800)).toEqual([run2.runId]);
    expect(await expireApprovals(sb, 1800)).toEqual([]);
  });

  it("the digest: the same report over both transports, and the scheduled one enqueued once across concurrent replicas", async () => {
    await db.pool.query("update ccm.agents set last_seen = now() - interval '1 hour' where host = 'db-1'");
    const start = new Date(Date.now() - 3_600_000);
    const end = new Date(Date.now() + 1000);
    const digest = await buildDigest(sb, start, end, 300);
    expect(digest).toEqual(await buildDigest(pgd, start, end, 300));
    expect(digest.counts).toMatchObject({ escalated: 1 });
    expect(digest.offlineAgents).toEqual([{ host: "db-1", last_seen: expect.any(Date) }]);

    const schedule = { time: "08:00", timeZone: "UTC", offlineAfterS: 300, channel: "#digest" };
    const at = new Date("2026-11-24T08:05:00Z");
    const results = await Promise.all([0, 1, 2].map(() => runScheduledDigest(sb, schedule, at)));
    expect(results.map((r) => r.outcome).sort()).toEqual(["already_sent", "already_sent", "enqueued"]);
    expect((await runScheduledDigest(sb, schedule, new Date("2026-11-24T09:00:00Z"))).outcome).toBe("already_sent");
    const { rows } = await db.pool.query("select day::text, period_end, notification_id is not null as linked from ccm.digest_runs");
    expect(rows).toEqual([{ day: "2026-11-24", period_end: at, linked: true }]);
    const [queued] = await outbox(db.pool, "dedup_key = 'digest:2026-11-24'");
    expect(queued).toMatchObject({ channel: "slack", kind: "digest", status: "pending" });

    const id = await enqueueAdhocDigest(sb, digest, "#digest", "UTC");
    expect(typeof id).toBe("number");
    expect(await enqueueAdhocDigest(sb, digest, "#digest", "UTC")).toBeNull(); // same period end: already queued
  });

  it("the anon key reaches none of them", async () => {
    const anon = supabaseDb(createCcmSupabaseClient({ url: fake.url, key: ANON_KEY }));
    const now = new Date().toISOString();
    await expect(anon.call("digest_report", { p_period_start: now, p_period_end: now, p_offline_after_s: 1 })).rejects.toBeInstanceOf(SupabaseCallError);
    await expect(anon.call("find_slack_thread", { p_incident_key: "x" })).rejects.toMatchObject({ code: "42501" });
    await expect(anon.call("record_scheduled_digest", { p_day: "2026-01-01", p_period_start: now, p_period_end: now, p_payload: {} })).rejects.toMatchObject({
      code: "42501",
    });
  });
});
