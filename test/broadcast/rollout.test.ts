import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";
import { broadcast, enroll, hostsIn, insertBroadcast, states, work } from "./sql-agents.ts";

// The rollout rules on a real Postgres, driven through the SQL functions agents and the hub call.

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

async function fleet(suite: string, n: number, labels: (i: number) => Record<string, string> = () => ({})): Promise<string[]> {
  const hosts: string[] = [];
  for (let i = 1; i <= n; i++) {
    const host = `${suite}-${String(i).padStart(2, "0")}`;
    await enroll(db.pool, host, { suite, ...labels(i) });
    hosts.push(host);
  }
  return hosts;
}

async function refusal(cols: Record<string, unknown>): Promise<string> {
  return insertBroadcast(db.pool, cols).then(
    () => "accepted",
    (err: Error) => err.message,
  );
}

describe("selectors", () => {
  it("globs, label equality, set membership, exclusions and all pick exactly the matching agents", async () => {
    await fleet("sel", 8, (i) => ({ role: i <= 5 ? "web" : "db", env: i % 2 ? "prod" : "staging", tier: i === 3 ? "canary" : "main" }));
    await enroll(db.pool, "other-01", { suite: "sel-x", role: "web", env: "prod" }, ["collect-facts"], ["sel-alias-01"]);
    const pick = async (selector: unknown) => {
      const id = await insertBroadcast(db.pool, { playbook: "collect-facts", selector, created_by: "test" });
      await db.pool.query("select ccm.cancel_broadcast($1, 'test')", [id]);
      return Object.keys(await states(db.pool, id)).sort();
    };
    expect(await pick({ labels: { suite: "sel", role: "web", env: "prod" } })).toEqual(["sel-01", "sel-03", "sel-05"]);
    expect(await pick({ labels: { suite: "sel", env: ["prod", "staging"], role: "db" } })).toEqual(["sel-06", "sel-07", "sel-08"]);
    expect(await pick({ hosts: ["sel-0?"], labels: { role: "web" }, exclude_labels: { tier: "canary" }, exclude_hosts: ["*-05"] })).toEqual(["sel-01", "sel-02", "sel-04"]);
    // Aliases match globs too; '_' and '%' in a glob are literal characters, not LIKE wildcards.
    expect(await pick({ hosts: ["sel-alias-*"] })).toEqual(["other-01"]);
    expect(await refusal({ playbook: "collect-facts", selector: { hosts: ["sel_01"] } })).toMatch(/matches no enrolled agent/);
    const all = await pick({ all: true });
    expect(all).toEqual(expect.arrayContaining(["sel-01", "sel-08", "other-01"]));
  });

  it("refuses what can never be valid, with a reason", async () => {
    await fleet("ref", 1);
    expect(await refusal({ playbook: "collect-facts", selector: {} })).toMatch(/selector selects nothing/);
    expect(await refusal({ playbook: "collect-facts", selector: { labels: { suite: "nope" } } })).toMatch(/matches no enrolled agent/);
    expect(await refusal({ playbook: "command", selector: { all: true } })).toMatch(
      "a command broadcast needs command.argv: a non-empty array of at most 256 strings (ccm broadcast command --key … -- argv…)",
    );
    expect(await refusal({ playbook: "Rm -rf", selector: { all: true } })).toMatch(/catalogue playbook name/);
    expect(await refusal({ playbook: "collect-facts", selector: { hosts: ["$(x)"] } })).toMatch(/host name globs/);
    expect(await refusal({ playbook: "collect-facts", selector: { labels: { suite: "ref" } }, params: { "bad key": 1 } })).toMatch(/param name/);
    expect(await refusal({ playbook: "collect-facts", selector: { labels: { suite: "ref" } }, params: { a: { nested: 1 } } })).toMatch(/string, number or boolean/);
    expect(await refusal({ playbook: "collect-facts", selector: { labels: { suite: "ref" } }, batch: "0" })).toMatch(/broadcasts_batch_format/);
    expect(await refusal({ playbook: "high-voltage", selector: { labels: { suite: "ref" } } })).toMatch(/none of the 1 selected agents offers playbook high-voltage/);
    const { rows } = await db.pool.query("select count(*)::int as n from ccm.broadcasts b join ccm.tasks t on t.broadcast_id = b.id join ccm.agents a on a.id = t.agent_id where a.host = 'ref-01'");
    expect(rows[0].n).toBe(0);
  });
});

describe("rollout", () => {
  it("fans out at creation (fixed denominator), releases the canary alone, then batches in order; summary and Slack row on completion", async () => {
    const hosts = await fleet("roll", 7);
    // Inserted from SQL exactly as Supabase Studio would.
    const id = await insertBroadcast(db.pool, { playbook: "collect-facts", selector: { labels: { suite: "roll" } }, canary: 1, batch: "3", created_by: "studio" });
    expect(await broadcast(db.pool, id)).toMatchObject({ targeted: 7, batch_size: 3, status: "running" });
    let s = await states(db.pool, id);
    expect(hostsIn(s, "queued")).toEqual(["roll-01"]);
    expect(hostsIn(s, "held")).toHaveLength(6);

    // Held runs cannot be claimed by their agents.
    for (const h of hosts.slice(1)) expect(await work(db.pool, h, "succeeded")).toBe(false);
    expect(await work(db.pool, "roll-01", "succeeded")).toBe(true);
    s = await states(db.pool, id);
    expect(hostsIn(s, "queued")).toEqual(["roll-02", "roll-03", "roll-04"]);
    expect(hostsIn(s, "held")).toEqual(["roll-05", "roll-06", "roll-07"]);

    // Wave 2 waits for every host of wave 1.
    await work(db.pool, "roll-02", "succeeded");
    await work(db.pool, "roll-03", "succeeded");
    expect(hostsIn(await states(db.pool, id), "held")).toEqual(["roll-05", "roll-06", "roll-07"]);
    await work(db.pool, "roll-04", "succeeded");
    expect(hostsIn(await states(db.pool, id), "queued")).toEqual(["roll-05", "roll-06", "roll-07"]);
    for (const h of ["roll-05", "roll-06", "roll-07"]) await work(db.pool, h, "succeeded");

    const b = await broadcast(db.pool, id);
    expect(b).toMatchObject({ status: "completed", summary: "7/7 succeeded" });
    expect(b.finished_at).not.toBeNull();
    const { rows } = await db.pool.query("select kind, payload from ccm.notifications where dedup_key = $1", [`slack:broadcast:${id}`]);
    expect(rows).toHaveLength(1);
    expect(rows[0].payload).toMatchObject({ text: "7/7 succeeded", status: "completed" });
    // Per-host runs are summed up once, not one Slack message each.
    const perRun = await db.pool.query(
      "select count(*)::int as n from ccm.notifications n join ccm.tasks t on t.id = n.task_id where t.broadcast_id = $1",
      [id],
    );
    expect(perRun.rows[0].n).toBe(0);
  });

  it("max_concurrency caps the runs in flight within a wave", async () => {
    await fleet("conc", 5);
    const id = await insertBroadcast(db.pool, { playbook: "collect-facts", selector: { labels: { suite: "conc" } }, canary: 0, batch: "100%", max_concurrency: 2 });
    expect(hostsIn(await states(db.pool, id), "queued")).toEqual(["conc-01", "conc-02"]);
    await work(db.pool, "conc-01", "succeeded");
    expect(hostsIn(await states(db.pool, id), "queued")).toEqual(["conc-02", "conc-03"]);
  });

  it("a failure beyond max_failures stops the broadcast: the rest is skipped with the reason; the summary names the failure", async () => {
    await fleet("thr", 6);
    const id = await insertBroadcast(db.pool, { playbook: "package-update", params: { name: "x" }, selector: { labels: { suite: "thr" } }, canary: 1, batch: "2", max_failures: "1" });
    await work(db.pool, "thr-01", "succeeded");
    await work(db.pool, "thr-02", "failed", { exit_code: 100, error_line: "E: Unable to locate package x" }, "x: E: Unable to locate package x (exit 100)");
    // One failure is tolerated (max_failures 1): wave 2 is released once wave 1 is done.
    await work(db.pool, "thr-03", "succeeded");
    expect(hostsIn(await states(db.pool, id), "queued")).toEqual(["thr-04", "thr-05"]);
    await work(db.pool, "thr-04", "failed", { exit_code: 1, error_line: "dpkg: error" });
    const s = await states(db.pool, id);
    // thr-05 was released but not yet claimed: after the stop it is skipped too, and thr-06 never released.
    expect(hostsIn(s, "skipped")).toEqual(["thr-05", "thr-06"]);
    expect(await work(db.pool, "thr-05", "succeeded")).toBe(false);
    const b = await broadcast(db.pool, id);
    expect(b.status).toBe("stopped");
    expect(b.summary).toBe(
      "2/6 succeeded; thr-02 failed: E: Unable to locate package x (exit 100); thr-04 failed: dpkg: error (exit 1); 2 skipped; stopped: 2 failures exceed max_failures 1 (1 of 6)",
    );
    const { rows } = await db.pool.query("select summary from ccm.tasks where broadcast_id = $1 and host = 'thr-06'", [id]);
    expect(rows[0].summary).toMatch(/skipped: broadcast stopped \(2 failures exceed max_failures 1/);
  });

  it("a failed canary stops the broadcast before any batch", async () => {
    await fleet("can", 4);
    const id = await insertBroadcast(db.pool, { playbook: "collect-facts", selector: { labels: { suite: "can" } }, canary: 1, batch: "50%", max_failures: "50%" });
    await work(db.pool, "can-01", "failed", { exit_code: 2, error_line: "boom" });
    expect(hostsIn(await states(db.pool, id), "skipped")).toEqual(["can-02", "can-03", "can-04"]);
    expect((await broadcast(db.pool, id)).summary).toBe("0/4 succeeded; can-01 failed: boom (exit 2); 3 skipped; stopped: canary failed");
  });

  it("pause holds unclaimed runs and releases nothing; resume continues; cancel ends it and nothing is released after", async () => {
    await fleet("pau", 5);
    const id = await insertBroadcast(db.pool, { playbook: "collect-facts", selector: { labels: { suite: "pau" } }, canary: 1, batch: "2" });
    await work(db.pool, "pau-01", "succeeded");
    expect(hostsIn(await states(db.pool, id), "queued")).toEqual(["pau-02", "pau-03"]);
    // pau-02 is claimed and working when the operator pauses; pau-03 was released but not claimed.
    const { rows: a } = await db.pool.query("select id from ccm.agents where host = 'pau-02'");
    const { rows: c } = await db.pool.query("select run_id from ccm.claim_runs($1, 1, 30)", [a[0].id]);
    expect((await db.pool.query("select ccm.pause_broadcast($1, 'alice', 'looking at graphs') as s", [id])).rows[0].s).toBe("paused");
    let s = await states(db.pool, id);
    expect(hostsIn(s, "held")).toEqual(["pau-03", "pau-04", "pau-05"]);
    expect(await work(db.pool, "pau-03", "succeeded")).toBe(false);
    // The claimed run finishes; the hub's ticks release nothing while paused.
    await db.pool.query("select ccm.start_run($1, $2, 'collect-facts', true, false)", [c[0].run_id, a[0].id]);
    await db.pool.query("select ccm.finish_run($1, $2, 'succeeded', 'ok')", [c[0].run_id, a[0].id]);
    await db.pool.query("select ccm.advance_broadcasts()");
    s = await states(db.pool, id);
    expect(hostsIn(s, "held")).toEqual(["pau-03", "pau-04", "pau-05"]);
    expect((await broadcast(db.pool, id)).stop_reason).toBe("paused by alice: looking at graphs");
    await expect(db.pool.query("select ccm.pause_broadcast($1, 'alice')", [id])).rejects.toThrow(/is paused, not running/);

    expect((await db.pool.query("select ccm.resume_broadcast($1, 'alice') as s", [id])).rows[0].s).toBe("running");
    expect(hostsIn(await states(db.pool, id), "queued")).toEqual(["pau-03"]);
    await work(db.pool, "pau-03", "succeeded");
    expect(hostsIn(await states(db.pool, id), "queued")).toEqual(["pau-04", "pau-05"]);

    expect((await db.pool.query("select ccm.cancel_broadcast($1, 'bob', 'wrong version') as s", [id])).rows[0].s).toBe("cancelled");
    s = await states(db.pool, id);
    expect(hostsIn(s, "cancelled")).toEqual(["pau-04", "pau-05"]);
    await db.pool.query("select ccm.advance_broadcasts()");
    expect(await work(db.pool, "pau-04", "succeeded")).toBe(false);
    const b = await broadcast(db.pool, id);
    expect(b).toMatchObject({ status: "cancelled", summary: "3/5 succeeded; 2 cancelled; cancelled by bob: wrong version" });
    await expect(db.pool.query("select ccm.resume_broadcast($1, 'bob')", [id])).rejects.toThrow(/no unfinished broadcast/);
  });

  it("a stop is real: a tick racing an uncommitted cancel releases nothing, and nothing after it commits", async () => {
    await fleet("race", 4);
    const id = await insertBroadcast(db.pool, { playbook: "collect-facts", selector: { labels: { suite: "race" } }, canary: 1, batch: "3" });
    const { rows: a } = await db.pool.query("select id from ccm.agents where host = 'race-01'");
    const { rows: c } = await db.pool.query("select run_id from ccm.claim_runs($1, 1, 30)", [a[0].id]);
    const operator = await db.pool.connect();
    try {
      await operator.query("begin");
      await operator.query("select ccm.cancel_broadcast($1, 'bob')", [id]);
      // The canary finishes while the cancel is not committed yet: its trigger and the hub's tick skip the locked row.
      await db.pool.query("select ccm.start_run($1, $2, 'collect-facts', true, false)", [c[0].run_id, a[0].id]);
      await db.pool.query("select ccm.finish_run($1, $2, 'succeeded', 'ok')", [c[0].run_id, a[0].id]);
      const tick = await db.pool.query("select * from ccm.advance_broadcasts() where broadcast_id = $1", [id]);
      expect(tick.rows).toEqual([]);
      await operator.query("commit");
    } finally {
      operator.release();
    }
    await db.pool.query("select ccm.advance_broadcasts()");
    const { rows } = await db.pool.query("select count(*)::int as n from ccm.tasks where broadcast_id = $1 and broadcast_wave > 0 and released_at is not null", [id]);
    expect(rows[0].n).toBe(0);
    expect(hostsIn(await states(db.pool, id), "cancelled")).toEqual(["race-02", "race-03", "race-04"]);
    expect((await broadcast(db.pool, id)).summary).toBe("1/4 succeeded; 3 cancelled; cancelled by bob");
  });

  it("a released run nobody claims within the TTL counts as offline, not failed; a run without result past its timeout counts as timeout", async () => {
    await fleet("off", 3);
    const id = await insertBroadcast(db.pool, { playbook: "collect-facts", selector: { labels: { suite: "off" } }, canary: 0, batch: "100%", max_failures: "1", offline_ttl_s: 60, run_timeout_s: 60 });
    await work(db.pool, "off-01", "succeeded");
    const { rows: a } = await db.pool.query("select id from ccm.agents where host = 'off-02'");
    await db.pool.query("select ccm.claim_runs($1, 1, 30)", [a[0].id]);
    // Time passes (moved back in the data, not waited for).
    await db.pool.query("update ccm.tasks set released_at = now() - interval '2 minutes' where broadcast_id = $1", [id]);
    await db.pool.query("update ccm.runs r set claimed_at = now() - interval '2 minutes' from ccm.tasks t where t.id = r.task_id and t.broadcast_id = $1 and r.status = 'claimed'", [id]);
    await db.pool.query("select ccm.advance_broadcasts()");
    expect(await states(db.pool, id)).toEqual({ "off-01": "succeeded", "off-02": "timeout", "off-03": "offline" });
    // The agent that timed out is told to stop at its next lease renewal.
    const { rows: run } = await db.pool.query("select r.id from ccm.runs r join ccm.tasks t on t.id = r.task_id where t.host = 'off-02' and t.broadcast_id = $1", [id]);
    expect((await db.pool.query("select ccm.renew_lease($1, $2, 30) as s", [run[0].id, a[0].id])).rows[0].s).toBe("timeout");
    expect((await broadcast(db.pool, id)).summary).toBe("1/3 succeeded; off-02 timed out: no result within 60 s; 1 offline (off-03)");
  });

  it("an agent that enrols later is not swept in", async () => {
    await fleet("late", 2);
    const id = await insertBroadcast(db.pool, { playbook: "collect-facts", selector: { labels: { suite: "late" } }, canary: 0, batch: "100%" });
    await enroll(db.pool, "late-03", { suite: "late" });
    expect(Object.keys(await states(db.pool, id))).toEqual(["late-01", "late-02"]);
    expect((await broadcast(db.pool, id)).targeted).toBe(2);
  });

  it("agents that do not offer the playbook are counted and skipped with the reason", async () => {
    await enroll(db.pool, "lack-01", { suite: "lack" }, ["collect-facts", "package-update"]);
    await enroll(db.pool, "lack-02", { suite: "lack" }, ["collect-facts"]);
    const id = await insertBroadcast(db.pool, { playbook: "package-update", params: { name: "curl" }, selector: { labels: { suite: "lack" } }, canary: 0, batch: "100%", dry_run: true });
    expect(await states(db.pool, id)).toEqual({ "lack-01": "queued", "lack-02": "skipped" });
    const { rows } = await db.pool.query("select dry_run from ccm.tasks where broadcast_id = $1 and host = 'lack-01'", [id]);
    expect(rows[0].dry_run).toBe(true);
    await work(db.pool, "lack-01", "succeeded");
    expect((await broadcast(db.pool, id)).summary).toBe("dry run: 1/2 succeeded; 1 skipped");
  });
});
