import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "@ccm/logger";
import { decideApproval } from "@ccm/store";
import { expireApprovals, slackSignature } from "@ccm/notify";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";
import { createHubApp } from "../../apps/hub/src/app.ts";
import { outbox } from "./support/outbox-rows.ts";
import { askApproval, enroll, fire, startRun } from "./support/seed.ts";

const SECRET = "slack-signing-secret-for-tests";
let db: TestDatabase;
let app: ReturnType<typeof createHubApp>;

beforeAll(async () => {
  db = await createTestDatabase();
  app = createHubApp({
    db: db.pool,
    log: silentLogger(),
    config: { CCM_WEBHOOK_TOKEN: undefined, CCM_WEBHOOK_MAX_BYTES: 65536 },
    slack: { signingSecret: SECRET, approvers: ["UALICE", "UBOB"] },
  });
});
afterAll(async () => {
  await db?.drop();
});
beforeEach(async () => {
  await db.pool.query("truncate ccm.notifications, ccm.slack_request_signatures, ccm.alerts, ccm.tasks, ccm.runs, ccm.approvals, ccm.agents cascade");
});

async function awaitingRun(host = "web-1"): Promise<string> {
  await enroll(db.pool, host);
  const { taskId } = await fire(db.pool, host, "NginxWedged");
  const { runId, agentId } = await startRun(db.pool, taskId);
  await askApproval(db.pool, runId, agentId);
  return runId;
}

function interaction(runId: string, user: string, action = "ccm_approve", nonce = Math.random()): string {
  const payload = {
    type: "block_actions",
    user: { id: user, username: user.toLowerCase().slice(1) },
    actions: [{ action_id: action, value: runId, block_id: `ccm_approval:${runId}`, action_ts: String(nonce) }],
  };
  return `payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

function post(body: string, options: { secret?: string; ts?: number; signature?: string } = {}) {
  const ts = String(options.ts ?? Math.floor(Date.now() / 1000));
  const signature = options.signature ?? slackSignature(options.secret ?? SECRET, ts, body);
  return app.request("/v1/slack/interactions", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "x-slack-request-timestamp": ts, "x-slack-signature": signature },
    body,
  });
}

async function answerOf(res: Response): Promise<{ error?: string; outcome?: string }> {
  return (await res.json()) as { error?: string; outcome?: string };
}

async function approval(runId: string) {
  const { rows } = await db.pool.query("select decision, decided_by from ccm.approvals where run_id = $1", [runId]);
  return rows[0] as { decision: string | null; decided_by: string | null };
}

describe("POST /v1/slack/interactions", () => {
  it("a valid signature from an allowed user records the decision and who made it", async () => {
    const runId = await awaitingRun();
    const res = await post(interaction(runId, "UALICE"));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true, outcome: "decided", decision: "approved" });
    expect(await approval(runId)).toEqual({ decision: "approved", decided_by: "slack:alice (UALICE)" });
    // The message update is queued in the same transaction (the outbox replaces the buttons).
    expect((await outbox(db.pool, "kind = 'approval_decided'")).length).toBe(1);
  });

  it("refuses a wrong secret, a stale timestamp, a tampered body and a replay, recording nothing", async () => {
    const runId = await awaitingRun();
    const body = interaction(runId, "UALICE");
    const wrong = await post(body, { secret: "not-the-secret-at-all" });
    expect(wrong.status).toBe(401);
    expect((await answerOf(wrong)).error).toMatch(/does not match/);
    const stale = await post(body, { ts: Math.floor(Date.now() / 1000) - 301 });
    expect(stale.status).toBe(401);
    expect((await answerOf(stale)).error).toMatch(/5 minutes/);
    const ts = Math.floor(Date.now() / 1000);
    const tampered = await post(interaction(runId, "UALICE", "ccm_reject"), { ts, signature: slackSignature(SECRET, String(ts), body) });
    expect(tampered.status).toBe(401);
    expect(await approval(runId)).toEqual({ decision: null, decided_by: null });

    const signed = { ts, signature: slackSignature(SECRET, String(ts), body) };
    expect((await post(body, signed)).status).toBe(200);
    const replay = await post(body, signed);
    expect(replay.status).toBe(401);
    expect((await answerOf(replay)).error).toMatch(/replayed/);
  });

  it("a user outside the allow-list gets 403 and nothing is decided", async () => {
    const runId = await awaitingRun();
    const res = await post(interaction(runId, "UMALLORY"));
    expect(res.status).toBe(403);
    expect((await answerOf(res)).error).toMatch(/UMALLORY may not decide/);
    expect(await approval(runId)).toEqual({ decision: null, decided_by: null });
  });

  it("two decisions at once (approve on Slack, reject on Slack, reject from the CLI): the first wins, the others are told", async () => {
    const runId = await awaitingRun();
    const [a, b, cli] = await Promise.all([
      post(interaction(runId, "UALICE", "ccm_approve")),
      post(interaction(runId, "UBOB", "ccm_reject")),
      decideApproval(db.pool, runId, "rejected", "cli:carol", "no"),
    ]);
    const outcomes = [a.status === 200 ? "decided" : "already", b.status === 200 ? "decided" : "already", cli.outcome === "decided" ? "decided" : "already"];
    expect(outcomes.filter((o) => o === "decided")).toHaveLength(1);
    const final = await approval(runId);
    for (const res of [a, b].filter((r) => r.status !== 200)) {
      expect(res.status).toBe(409);
      expect(await res.json()).toMatchObject({ outcome: "already_decided", decision: final.decision, decided_by: final.decided_by });
    }
    expect((await outbox(db.pool, "kind = 'approval_decided'")).length).toBe(1);
  });

  it("an approval unanswered past the timeout is rejected as timed out and pages; a late click is told so", async () => {
    const runId = await awaitingRun();
    const fresh = await awaitingRun("web-2");
    await db.pool.query("update ccm.approvals set requested_at = now() - interval '2 hours' where run_id = $1", [runId]);
    expect(await expireApprovals(db.pool, 1800)).toEqual([runId]);
    expect(await expireApprovals(db.pool, 1800)).toEqual([]);
    expect(await approval(runId)).toEqual({ decision: "rejected", decided_by: "ccm:approval-timeout" });
    expect(await approval(fresh)).toEqual({ decision: null, decided_by: null });
    const pages = await outbox(db.pool, "kind = 'pd_trigger'");
    expect(pages).toHaveLength(1);
    const late = await post(interaction(runId, "UALICE"));
    expect(late.status).toBe(409);
    expect((await answerOf(late)).error).toBe("already rejected by ccm:approval-timeout");
  });

  it("expiry racing a click: exactly one decision, and a page only if the timeout won", async () => {
    const runId = await awaitingRun();
    await db.pool.query("update ccm.approvals set requested_at = now() - interval '2 hours' where run_id = $1", [runId]);
    const [expired, click] = await Promise.all([expireApprovals(db.pool, 1800), post(interaction(runId, "UALICE"))]);
    const final = await approval(runId);
    const pages = await outbox(db.pool, "kind = 'pd_trigger'");
    if (final.decided_by === "ccm:approval-timeout") {
      expect(expired).toEqual([runId]);
      expect(click.status).toBe(409);
      expect(pages).toHaveLength(1);
    } else {
      expect(final.decided_by).toBe("slack:alice (UALICE)");
      expect(expired).toEqual([]);
      expect(click.status).toBe(200);
      expect(pages).toHaveLength(0);
    }
  });
});
