import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { createTestDatabase, type TestDatabase } from "../../../test/support/db.ts";
import { PgAgentStore } from "./agent-store.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

async function seedRuns(agentIds: string[], perAgent: number): Promise<void> {
  // Tasks and runs straight in SQL: this test is about claiming, not ingest.
  await db.pool.query(
    `with t as (
       insert into ccm.tasks (source, kind, status, host, agent_id, alertname)
       select 'operator', 'operator', 'queued', a.host, a.id, 'Race'
         from ccm.agents a, generate_series(1, $2) g
        where a.id = any($1::uuid[])
       returning id, agent_id)
     insert into ccm.runs (task_id, agent_id) select id, agent_id from t`,
    [agentIds, perAgent],
  );
}

describe("claim_runs", () => {
  it("20 concurrent claimers over 1,000 runs: every run claimed exactly once, only by its own agent", async () => {
    const store = new PgAgentStore(db.pool);
    const agentIds: string[] = [];
    for (let i = 0; i < 5; i++) {
      agentIds.push(
        await store.enroll({ host: `race-${i}`, aliases: [], labels: {}, version: "t", playbooks: [], facts: {} }),
      );
    }
    await seedRuns(agentIds, 200);

    // 20 claimers on 20 separate connections; 4 share each agent identity so they contend for the same rows.
    const claims: Array<{ run: string; agent: string; claimer: number }> = [];
    await Promise.all(
      Array.from({ length: 20 }, async (_, claimer) => {
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        const agent = agentIds[claimer % agentIds.length] as string;
        try {
          for (;;) {
            const { rows } = await client.query<{ run_id: string }>("select run_id from ccm.claim_runs($1, $2, 30)", [
              agent,
              1 + (claimer % 5),
            ]);
            if (rows.length === 0) break;
            for (const r of rows) claims.push({ run: r.run_id, agent, claimer });
          }
        } finally {
          await client.end();
        }
      }),
    );

    expect(claims).toHaveLength(1000);
    expect(new Set(claims.map((c) => c.run)).size).toBe(1000);
    const { rows } = await db.pool.query<{ agent_id: string; id: string; status: string }>(
      "select id, agent_id, status from ccm.runs",
    );
    const owner = new Map(rows.map((r) => [r.id, r.agent_id]));
    for (const c of claims) expect(owner.get(c.run)).toBe(c.agent);
    expect(rows.every((r) => r.status === "claimed")).toBe(true);
    // Every claimer sharing an agent got work: the race was real, not serialised by accident.
    expect(new Set(claims.map((c) => c.claimer)).size).toBeGreaterThan(5);
  });

  it("rejects an unknown agent", async () => {
    await expect(
      db.pool.query("select * from ccm.claim_runs('00000000-0000-0000-0000-000000000000', 1, 30)"),
    ).rejects.toThrow(/unknown agent/);
  });
});
