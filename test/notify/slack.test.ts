import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "@ccm/logger";
import { createPool, decideApproval, type Pool } from "@ccm/store";
import { createTestDatabase, waitFor, type TestDatabase } from "../support/db.ts";
import { startOutboxWorker } from "../../apps/hub/src/workers/outbox.ts";
import { Receiver, type Received } from "./support/receiver.ts";
import { testNotifyConfig } from "./support/config.ts";
import { outbox, outboxDrained } from "./support/outbox-rows.ts";
import { askApproval, enroll, finish, fire, resolve, startRun } from "./support/seed.ts";

let db: TestDatabase;
let receiver: Receiver;
const workers: Array<{ stop(): Promise<void> }> = [];
const pools: Pool[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  receiver = await new Receiver().start();
});
afterAll(async () => {
  await receiver?.stop();
  await db?.drop();
});
beforeEach(async () => {
  receiver.requests.length = 0;
  receiver.script = undefined;
  await db.pool.query("truncate ccm.notifications, ccm.slack_threads, ccm.alerts, ccm.tasks, ccm.runs, ccm.run_steps, ccm.agents, ccm.approvals cascade");
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
  await Promise.all(pools.splice(0).map((p) => p.end()));
});

function startWorker(env: Record<string, string> = {}) {
  const pool = createPool(db.url, { max: 3 });
  pools.push(pool);
  workers.push(startOutboxWorker(pool, silentLogger(), testNotifyConfig(receiver.url, receiver.url, env), "w"));
}

const posts = (): Received[] => receiver.accepted("/chat.postMessage");
const blockText = (r: Received) => JSON.stringify(r.body.blocks);

describe("Slack incident threads", () => {
  it("one thread per incident: approval request opens it, the decision updates it, the fix and the resolve reply in it", async () => {
    startWorker();
    await enroll(db.pool, "web-1");
    const { taskId, fingerprint } = await fire(db.pool, "web-1", "NginxWedged", { severity: "warning" });
    const confidence = { score: 0.72, band: "approve", explanation: "0.72 (approve): match 1.00, diagnosis 1.00, track 0.50 (0/0)" };
    const { runId, agentId } = await startRun(db.pool, taskId, { confidence });
    await askApproval(db.pool, runId, agentId);
    await waitFor("approval posted", async () => posts().length === 1);

    const opener = posts()[0] as Received;
    expect(opener.body.channel).toBe("#ccm");
    expect(opener.body.thread_ts).toBeUndefined();
    expect(opener.headers.authorization).toBe("Bearer xoxb-test-token");
    const blocks = blockText(opener);
    expect(blocks).toContain("web-1");
    expect(blocks).toContain("NginxWedged");
    expect(blocks).toContain("0.72 (approve)");
    expect(blocks).toContain("restart_service nginx");
    expect(blocks).toContain("root filesystem 97% full");
    expect(blocks).toContain(`"action_id":"ccm_approve","style":"primary","value":"${runId}"`);
    // The worker records Slack's answer (the thread ts) after the post returns: wait for it, not just for the post.
    let threadTs: string | undefined;
    await waitFor("approval outbox row completed with its ts", async () => {
      threadTs = (await outbox(db.pool, "kind = 'approval_requested'"))[0]?.result?.ts as string | undefined;
      return threadTs !== undefined;
    });

    const decided = await decideApproval(db.pool, runId, "approved", "cli:alice", "looks right");
    expect(decided.outcome).toBe("decided");
    await waitFor("approval message updated", async () => receiver.accepted("/chat.update").length === 1);
    const update = receiver.accepted("/chat.update")[0] as Received;
    expect(update.body).toMatchObject({ channel: "C-#ccm", ts: threadTs });
    expect(blockText(update)).toContain("Approved");
    expect(blockText(update)).toContain("cli:alice");
    expect(blockText(update)).not.toContain("ccm_approve");

    const cont = await startRun(db.pool, taskId);
    await finish(db.pool, cont.runId, cont.agentId, "succeeded", "restarted nginx; health check passes");
    await resolve(db.pool, "web-1", "NginxWedged", fingerprint);
    await waitFor("fix and resolve replied", async () => posts().length === 3);
    const [, fixed, resolved] = posts() as [Received, Received, Received];
    expect(fixed.body.thread_ts).toBe(threadTs);
    expect(fixed.body.channel).toBe("C-#ccm");
    expect(blockText(fixed)).toContain("Fixed");
    expect(fixed.body.reply_broadcast).toBe("false");
    expect(blockText(fixed)).toContain("removed 3.2 GiB");
    expect(blockText(fixed)).toContain("verified");
    expect(resolved.body.thread_ts).toBe(threadTs);
    expect(String(resolved.body.text)).toContain("resolved");
  });

  it("coalesces a burst: the same alert on 5 hosts within the window is one message listing them, one shared thread", async () => {
    startWorker({ CCM_SLACK_COALESCE_WINDOW_MS: "2000" });
    const runs: Array<{ runId: string; agentId: string }> = [];
    const fps: string[] = [];
    for (let i = 1; i <= 5; i++) {
      await enroll(db.pool, `db-${i}`);
      const { taskId, fingerprint } = await fire(db.pool, `db-${i}`, "PostgresDown");
      fps.push(fingerprint);
      runs.push(await startRun(db.pool, taskId));
    }
    for (const r of runs) await finish(db.pool, r.runId, r.agentId, "escalated", "postgres will not start: needs a human");
    await waitFor("outbox drained", () => outboxDrained(db.pool), 20_000);
    expect(posts()).toHaveLength(1);
    const msg = posts()[0] as Received;
    expect(String(msg.body.text)).toContain("PostgresDown on 5 hosts");
    for (let i = 1; i <= 5; i++) expect(blockText(msg)).toContain(`db-${i}`);
    const threads = await db.pool.query("select distinct thread_ts from ccm.slack_threads");
    expect(threads.rows).toEqual([{ thread_ts: (await outbox(db.pool, "kind = 'run_finished'"))[0]?.result?.ts }]);

    // A later update of one of them goes to the shared thread.
    await resolve(db.pool, "db-3", "PostgresDown", fps[2] as string);
    await waitFor("resolve replied", async () => posts().length === 2);
    expect(posts()[1]?.body.thread_ts).toBe(threads.rows[0].thread_ts);
  });

  it("honours 429 Retry-After: the channel waits, the message is sent once, the wait is not a failed attempt", async () => {
    let limited = false;
    receiver.script = (req) => {
      if (!limited && req.path.endsWith("/chat.postMessage")) {
        limited = true;
        return { status: 429, headers: { "retry-after": "1" }, body: { ok: false, error: "ratelimited" } };
      }
      return undefined;
    };
    await enroll(db.pool, "app-1");
    await enroll(db.pool, "app-2");
    for (const host of ["app-1", "app-2"]) {
      const { taskId } = await fire(db.pool, host, `Alert-${host}`);
      const r = await startRun(db.pool, taskId);
      await finish(db.pool, r.runId, r.agentId, "succeeded");
    }
    startWorker();
    await waitFor("outbox drained", () => outboxDrained(db.pool));
    const all = receiver.requests.filter((r) => r.path.endsWith("/chat.postMessage"));
    expect(all.map((r) => r.status)).toEqual([429, 200, 200]);
    // Nothing reached the channel before Retry-After elapsed.
    expect((all[1] as Received).at - (all[0] as Received).at).toBeGreaterThanOrEqual(1000);
    const rows = await outbox(db.pool, "channel = 'slack'");
    expect(rows.map((r) => [r.status, r.attempts])).toEqual([["sent", 1], ["sent", 1]]);
  });

  it("routes by label and paces each channel (minimum gap between messages)", async () => {
    startWorker({
      CCM_SLACK_ROUTES: JSON.stringify([{ match: { severity: "critical" }, channel: "#oncall" }]),
      CCM_SLACK_MIN_INTERVAL_MS: "300",
    });
    for (const [host, severity] of [["c-1", "critical"], ["c-2", "critical"], ["c-3", "critical"], ["w-1", "warning"]] as const) {
      await enroll(db.pool, host);
      const { taskId } = await fire(db.pool, host, `Alert-${host}`, { severity });
      const r = await startRun(db.pool, taskId);
      await finish(db.pool, r.runId, r.agentId, "failed", "playbook failed");
    }
    await waitFor("outbox drained", () => outboxDrained(db.pool));
    const oncall = posts().filter((p) => p.body.channel === "#oncall");
    expect(oncall).toHaveLength(3);
    expect(posts().filter((p) => p.body.channel === "#ccm")).toHaveLength(1);
    for (let i = 1; i < oncall.length; i++) {
      expect((oncall[i] as Received).at - (oncall[i - 1] as Received).at).toBeGreaterThanOrEqual(300);
    }
  });
});
