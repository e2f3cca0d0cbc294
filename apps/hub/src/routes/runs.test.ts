import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "@ccm/logger";
import { ingestAlerts, PgAgentStore, PgRemediationStore } from "@ccm/store";
import { createTestDatabase, type TestDatabase } from "../../../../test/support/db.ts";
import { createHubApp } from "../app.ts";

let db: TestDatabase;
let app: ReturnType<typeof createHubApp>;
let agentId: string;
const TOKEN = "operator-token-for-tests-0123";

beforeAll(async () => {
  db = await createTestDatabase();
  app = createHubApp({
    db: db.pool,
    log: silentLogger(),
    config: { CCM_WEBHOOK_TOKEN: undefined, CCM_WEBHOOK_MAX_BYTES: 64 * 1024, CCM_API_TOKEN: TOKEN } as Parameters<typeof createHubApp>[0]["config"],
  });
  agentId = await new PgAgentStore(db.pool).enroll({ host: "api-1", aliases: [], labels: {}, version: "t", playbooks: [], facts: {} });
});
afterAll(async () => db?.drop());

/** A run stopped at awaiting_approval, the way an agent leaves it. */
async function awaitingRun(): Promise<string> {
  const store = new PgAgentStore(db.pool);
  const remediation = new PgRemediationStore(db.pool);
  await ingestAlerts(db.pool, "test", null, [
    { fingerprint: randomBytes(6).toString("hex"), status: "firing", labels: { alertname: "ServiceDown", host: "api-1", service: "web" }, annotations: {}, startsAt: new Date().toISOString(), endsAt: null, generatorURL: null, raw: {} },
  ]);
  const [run] = await store.claimRuns(agentId, 1, 30);
  if (!run) throw new Error("no run");
  await store.startRun(run.run_id, agentId, "service-down", true, false);
  await remediation.saveConfidence(run.run_id, agentId, { score: 0.78, band: "approve", factors: [] }, [], "default");
  await remediation.requestApproval(run.run_id, agentId, "web is stopped", [{ action: "restart_service", target: "web" }], {});
  return run.run_id;
}

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  app.request(path, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}`, ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

describe("POST /v1/runs/:id/approve|reject", () => {
  it("approves once, records who, queues the continuation; a later decision gets 409 saying who won", async () => {
    const runId = await awaitingRun();
    const res = await post(`/v1/runs/${runId}/approve`, { by: "alice", reason: "go" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { continuation_run_id: string };
    expect(body).toMatchObject({ outcome: "decided", decision: "approved", decided_by: "alice", continuation_run_id: expect.any(String) });
    const cont = await db.pool.query("select status, approved_from from ccm.runs where id = $1", [body.continuation_run_id]);
    expect(cont.rows[0]).toEqual({ status: "queued", approved_from: runId });

    const late = await post(`/v1/runs/${runId}/reject`, { by: "bob" });
    expect(late.status).toBe(409);
    expect(((await late.json()) as { error: string }).error).toMatch(new RegExp(`^run ${runId} was already approved by alice at .*; this decision changed nothing$`));
  });

  it("rejects: run and task cancelled with who and why", async () => {
    const runId = await awaitingRun();
    expect((await post(`/v1/runs/${runId}/reject`, { by: "bob", reason: "peak hours" })).status).toBe(200);
    const { rows } = await db.pool.query("select r.status, t.status as task, t.summary from ccm.runs r join ccm.tasks t on t.id = r.task_id where r.id = $1", [runId]);
    expect(rows[0]).toEqual({ status: "cancelled", task: "cancelled", summary: "rejected by bob: peak hours" });
  });

  it("answers 401, 400, 404 and 415 with reasons, deciding nothing", async () => {
    const runId = await awaitingRun();
    expect((await post(`/v1/runs/${runId}/approve`, { by: "x" }, { authorization: "Bearer wrong" })).status).toBe(401);
    const noBy = await post(`/v1/runs/${runId}/approve`, { reason: "r" });
    expect(noBy.status).toBe(400);
    expect(((await noBy.json()) as { details: unknown }).details).toEqual([{ path: "by", message: expect.any(String) }]);
    const badId = await post(`/v1/runs/not-a-uuid/approve`, { by: "x" });
    expect(badId.status).toBe(400);
    expect((await post(`/v1/runs/00000000-0000-0000-0000-000000000000/approve`, { by: "x" })).status).toBe(404);
    expect((await post(`/v1/runs/${runId}/approve`, "by=x", { "content-type": "text/plain" })).status).toBe(415);
    const { rows } = await db.pool.query("select decision from ccm.approvals where run_id = $1", [runId]);
    expect(rows[0].decision).toBeNull();
  });
});
