import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "@ccm/logger";
import { generateOperatorKeyPair, signCommand, type OperatorKeyPair, type SignedCommand } from "@ccm/security";
import { agentCommandVerifier } from "../../apps/agent/src/command-verifier.ts";
import { createHubApp } from "../../apps/hub/src/app.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";
import { enroll } from "./sql-agents.ts";

// Signed command broadcasts through the hub API: the caller holds the key and signs (here with
// packages/security, as a script would); the hub only relays. Real Postgres, app.request().

let db: TestDatabase;
let app: ReturnType<typeof createHubApp>;
let operator: OperatorKeyPair;
let stateDir: string;
const TOKEN = "operator-token-for-tests-0123";
const ARGV = ["systemctl", "restart", "nginx"];
const WITH_COMMAND = ["collect-facts", "command"];

type Target = { agent_id: string; host: string; offers: boolean };
type Task = { agent_id: string; host: string; task_id: string; command: SignedCommand };

beforeAll(async () => {
  db = await createTestDatabase();
  stateDir = await mkdtemp(path.join(os.tmpdir(), "ccm-hub-cmd-"));
  operator = generateOperatorKeyPair();
  app = createHubApp({
    db: db.pool,
    log: silentLogger(),
    config: { CCM_WEBHOOK_TOKEN: undefined, CCM_WEBHOOK_MAX_BYTES: 64 * 1024, CCM_API_TOKEN: TOKEN } as Parameters<typeof createHubApp>[0]["config"],
  });
  await enroll(db.pool, "web-cmd-1", { role: "web" }, WITH_COMMAND);
  await enroll(db.pool, "web-cmd-2", { role: "web" }, WITH_COMMAND);
  await enroll(db.pool, "web-plain-1", { role: "web" }); // trusts no key: does not offer `command`
});
afterAll(async () => {
  await db?.drop();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

const call = (p: string, body: unknown, token: string | null = TOKEN) =>
  app.request(p, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(body),
  });

async function targets(selector: unknown): Promise<Target[]> {
  const res = await call("/v1/broadcasts/command-targets", { selector });
  expect(res.status).toBe(200);
  return ((await res.json()) as { targets: Target[] }).targets;
}

const expiresAt = () => new Date(Date.now() + 15 * 60_000);

/** What operator tooling does on its own side: pick a task id per offering host and sign it. */
function signAll(ts: Target[], expires: Date, signFor: (host: string) => string = (h) => h): Task[] {
  return ts
    .filter((t) => t.offers)
    .map((t) => {
      const task_id = randomUUID();
      return { agent_id: t.agent_id, host: t.host, task_id, command: signCommand({ taskId: task_id, argv: ARGV, target: signFor(t.host), expiresAt: expires }, operator.privateKeyPem) };
    });
}

const body = (selector: unknown, tasks: unknown[], expires: Date) => ({
  selector,
  created_by: "alice",
  canary: 1,
  batch: "1",
  command: { argv: ARGV, expires_at: expires.toISOString(), key_id: operator.keyId },
  tasks,
});

const broadcastCount = async () => (await db.pool.query("select count(*)::int as n from ccm.broadcasts")).rows[0].n as number;

describe("POST /v1/broadcasts/command-targets and /v1/broadcasts/commands", () => {
  it("creates a broadcast whose tasks carry exactly the caller's task ids and signatures, which an agent trusting the key accepts", async () => {
    const selector = { labels: { role: "web" } };
    const ts = await targets(selector);
    expect(ts.map((t) => [t.host, t.offers])).toEqual([
      ["web-cmd-1", true],
      ["web-cmd-2", true],
      ["web-plain-1", false],
    ]);
    const expires = expiresAt();
    const tasks = signAll(ts, expires);
    const res = await call("/v1/broadcasts/commands", body(selector, tasks, expires));
    expect(res.status, await res.clone().text()).toBe(201);
    const row = (await res.json()) as { id: string; playbook: string; targeted: number; signed: number; created_by: string };
    expect(row).toMatchObject({ playbook: "command", targeted: 3, signed: 2, created_by: "alice" });

    const { rows } = await db.pool.query("select id, host, status, command from ccm.tasks where broadcast_id = $1 order by host", [row.id]);
    const signed = rows.filter((r) => r.command !== null);
    expect(signed.map((r) => ({ id: r.id, host: r.host, command: r.command }))).toEqual(tasks.map((t) => ({ id: t.task_id, host: t.host, command: t.command })));
    expect(rows.find((r) => r.host === "web-plain-1")).toMatchObject({ status: "skipped", command: null });

    const verifier = agentCommandVerifier({ trustedCommandKeys: [operator.publicKeyPem], stateDir });
    for (const r of signed) {
      const verdict = verifier.verify(r.command);
      expect(verdict, r.host).toMatchObject({ ok: true, command: { taskId: r.id, target: r.host, argv: ARGV } });
    }
  });

  it("refuses (400) a task signed for another host, and creates nothing", async () => {
    const selector = { hosts: ["web-cmd-1"] };
    const expires = expiresAt();
    const before = await broadcastCount();
    const forged = signAll(await targets(selector), expires, () => "web-cmd-2");
    const res = await call("/v1/broadcasts/commands", body(selector, forged, expires));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/^signed task for web-cmd-1 does not match: each command must be signed for its own task id and host/);
    expect(await broadcastCount()).toBe(before);
  });

  it("refuses (409) when a host joined between targets and create; signing afresh then succeeds", async () => {
    const selector = { labels: { role: "late" } };
    await enroll(db.pool, "late-1", { role: "late" }, WITH_COMMAND);
    const expires = expiresAt();
    const before = await broadcastCount();
    const stale = signAll(await targets(selector), expires);
    await enroll(db.pool, "late-2", { role: "late" }, WITH_COMMAND);
    const res = await call("/v1/broadcasts/commands", body(selector, stale, expires));
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: string }).error).toMatch(/^the hosts matching the selector changed while the command was being signed; now matched, not signed: late-2/);
    expect(await broadcastCount()).toBe(before);

    const fresh = await call("/v1/broadcasts/commands", body(selector, signAll(await targets(selector), expires), expires));
    expect(fresh.status).toBe(201);
    expect(((await fresh.json()) as { signed: number }).signed).toBe(2);
  });

  it("answers 400 with the reason for a malformed body, and 401 without the API token", async () => {
    const selector = { hosts: ["web-cmd-1"] };
    const expires = expiresAt();
    const tasks = signAll(await targets(selector), expires);
    const reason = async (b: unknown) => {
      const r = await call("/v1/broadcasts/commands", b);
      expect(r.status, JSON.stringify(b)).toBe(400);
      return (await r.json()) as { error: string; details: { path: string; message: string }[] };
    };
    const unsigned = await reason(body(selector, tasks.map((t) => ({ ...t, command: { ...t.command, signature: undefined } })), expires));
    expect(unsigned).toMatchObject({ error: "invalid signed command broadcast", details: [{ path: "tasks.0.command.signature" }] });
    expect((await reason({ ...body(selector, tasks, expires), playbook: "command" })).error).toBe("invalid signed command broadcast");
    expect((await reason({ selector: {}, command: body(selector, tasks, expires).command, tasks })).details[0]?.message).toMatch(/selector selects nothing/);
    expect((await call("/v1/broadcasts/command-targets", { selector: "all" })).status).toBe(400);

    const before = await broadcastCount();
    expect((await call("/v1/broadcasts/command-targets", { selector }, null)).status).toBe(401);
    expect((await call("/v1/broadcasts/commands", body(selector, tasks, expires), null)).status).toBe(401);
    expect((await call("/v1/broadcasts/commands", body(selector, tasks, expires), "wrong-token-0123456789")).status).toBe(401);
    expect(await broadcastCount()).toBe(before);
  });
});
