import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "@ccm/logger";
import { createHubApp } from "../../apps/hub/src/app.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";
import { enroll } from "./sql-agents.ts";

// POST /v1/broadcasts and friends through app.request(), on a real Postgres.

let db: TestDatabase;
let app: ReturnType<typeof createHubApp>;
const TOKEN = "operator-token-for-tests-0123";

beforeAll(async () => {
  db = await createTestDatabase();
  app = createHubApp({
    db: db.pool,
    log: silentLogger(),
    config: { CCM_WEBHOOK_TOKEN: undefined, CCM_WEBHOOK_MAX_BYTES: 64 * 1024, CCM_API_TOKEN: TOKEN } as Parameters<typeof createHubApp>[0]["config"],
  });
  for (const h of ["api-web-1", "api-web-2", "api-db-1"]) await enroll(db.pool, h, { role: h.includes("web") ? "web" : "db" });
});
afterAll(async () => db?.drop());

const call = (method: string, path: string, body?: unknown, token = TOKEN) =>
  app.request(path, {
    method,
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

describe("POST /v1/broadcasts", () => {
  it("creates, shows progress per host, pauses, resumes and cancels", async () => {
    const res = await call("POST", "/v1/broadcasts", { playbook: "package-update", params: { name: "curl" }, selector: { labels: { role: "web" } }, canary: 1, batch: "1", created_by: "alice" });
    expect(res.status).toBe(201);
    const created = (await res.json()) as { id: string; targeted: number; status: string; created_by: string };
    expect(created).toMatchObject({ targeted: 2, status: "running", created_by: "alice" });

    const shown = (await (await call("GET", `/v1/broadcasts/${created.id.slice(0, 8)}`)).json()) as { states: Record<string, number>; hosts: { host: string; state: string; wave: number }[] };
    expect(shown.states).toEqual({ queued: 1, held: 1 });
    expect(shown.hosts.map((h) => [h.host, h.state, h.wave])).toEqual([
      ["api-web-1", "queued", 0],
      ["api-web-2", "held", 1],
    ]);

    expect(await (await call("POST", `/v1/broadcasts/${created.id}/pause`, { by: "alice", reason: "wait" })).json()).toEqual({ id: created.id, status: "paused" });
    const again = await call("POST", `/v1/broadcasts/${created.id}/pause`, { by: "alice" });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: string }).error).toMatch(/is paused, not running/);
    expect((await call("POST", `/v1/broadcasts/${created.id}/resume`, { by: "alice" })).status).toBe(200);
    const cancelled = (await (await call("POST", `/v1/broadcasts/${created.id}/cancel`, { by: "bob" })).json()) as { status: string };
    expect(cancelled.status).toBe("cancelled");
    const list = (await (await call("GET", "/v1/broadcasts")).json()) as { broadcasts: { id: string; summary: string }[] };
    expect(list.broadcasts.find((b) => b.id === created.id)?.summary).toBe("0/2 succeeded; 2 cancelled; cancelled by bob");
  });

  it("answers 4xx with the reason for what can never be valid", async () => {
    const reason = async (body: unknown, status = 400) => {
      const r = await call("POST", "/v1/broadcasts", body);
      expect(r.status, JSON.stringify(body)).toBe(status);
      return ((await r.json()) as { error: string }).error;
    };
    expect(await reason({ playbook: "package-update", params: { name: "curl; reboot" }, selector: { all: true } })).toMatch(/invalid params for package-update: name/);
    expect(await reason({ playbook: "command", selector: { all: true } })).toBe("a command broadcast needs command.argv: a non-empty array of at most 256 strings (ccm broadcast command --key … -- argv…)");
    expect(await reason({ playbook: "collect-facts", selector: {} })).toBe("invalid broadcast");
    expect(await reason({ playbook: "collect-facts", selector: { labels: { role: "cache" } } })).toMatch(/matches no enrolled agent/);
    expect(await reason({ playbook: "collect-facts", selector: { all: true }, surprise: 1 })).toBe("invalid broadcast");
    expect((await call("GET", "/v1/broadcasts/ffffffff")).status).toBe(404);
    expect((await call("POST", "/v1/broadcasts", { playbook: "collect-facts", selector: { all: true } }, "wrong-token-0123456789")).status).toBe(401);
  });
});
