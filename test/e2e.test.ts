import { mkdir, mkdtemp, rm, stat, utimes, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { createTestDatabase, waitFor, type TestDatabase } from "./support/db.ts";
import { alertmanagerPayload, answer } from "./support/alerts.ts";
import { freePort, runCcm, spawnCcm, type CcmProcess } from "./support/processes.ts";

let db: TestDatabase;
let dir: string;
let hub: CcmProcess | undefined;
let agent: CcmProcess | undefined;

const OLD = new Date(Date.now() - 30 * 86_400_000);

async function file(p: string, bytes: number, mtime?: Date) {
  await mkdir(path.dirname(p), { recursive: true });
  await writeFile(p, "x".repeat(bytes));
  if (mtime) await utimes(p, mtime, mtime);
}

beforeAll(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(path.join(os.tmpdir(), "ccm-e2e-"));
});
afterAll(async () => {
  hub?.kill("SIGKILL");
  agent?.kill("SIGKILL");
  await db?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe("end to end: real hub and agent processes", () => {
  it("an Alertmanager webhook becomes a task the agent fixes with disk-full, visible in `ccm tasks show`", async () => {
    const logs = path.join(dir, "var/log");
    await file(path.join(logs, "app.log"), 1000, OLD); // live log: never touched
    await file(path.join(logs, "app.log.1"), 4000, OLD); // old rotated: removed
    await file(path.join(logs, "nginx/access.log.2.gz"), 3000, OLD); // old rotated, nested: removed
    await file(path.join(logs, "app.log.2"), 2000); // recent rotated: kept
    await file(path.join(dir, "elsewhere/old.log.1"), 5000, OLD); // outside the configured folders: kept

    const host = `e2e-${process.pid}`;
    const port = await freePort();
    const env = { DATABASE_URL: db.url, CCM_HUB_PORT: String(port), CCM_HUB_HOST: "127.0.0.1" };
    hub = spawnCcm(["hub"], env);
    await waitFor("hub ready", async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.ok, 30_000);

    const configPath = path.join(dir, "agent.yaml");
    await writeFile(
      configPath,
      stringify({
        host,
        poll_interval_ms: 1000,
        lease_seconds: 10,
        playbooks: {
          "disk-full": {
            log_dirs: [logs],
            min_age_days: 7,
            target_used_percent: 100,
            // This sandbox's init hides its fds even from root; it writes nothing in our temp folder.
            ignore_unreadable_processes: ["process_api"],
          },
        },
      }),
    );
    agent = spawnCcm(["agent"], { DATABASE_URL: db.url, CCM_AGENT_CONFIG: configPath });
    await waitFor("agent enrolled", async () => (await db.pool.query("select 1 from ccm.agents where host = $1", [host])).rowCount, 30_000);

    const res = await fetch(`http://127.0.0.1:${port}/v1/webhooks/alertmanager`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(
        alertmanagerPayload([
          { labels: { alertname: "NodeFilesystemAlmostOutOfSpace", instance: `${host}:9100`, mountpoint: dir, device: "/dev/test" } },
        ]),
      ),
    });
    expect(res.status).toBe(200);
    const taskId = (await answer(res)).alerts[0]?.task_id as string;

    const status = await waitFor(
      "task finished",
      async () => {
        const { rows } = await db.pool.query("select status from ccm.tasks where id = $1", [taskId]);
        const s = rows[0]?.status as string;
        return ["succeeded", "failed", "escalated", "unknown"].includes(s) ? s : undefined;
      },
      30_000,
    ).catch((err) => {
      throw new Error(`${err}\n--- agent output ---\n${agent?.output()}`);
    });
    const summary = (await db.pool.query("select summary from ccm.tasks where id = $1", [taskId])).rows[0]?.summary;
    expect(status, `${summary}\n${agent.output()}`).toBe("succeeded");

    expect(existsSync(path.join(logs, "app.log.1"))).toBe(false);
    expect(existsSync(path.join(logs, "nginx/access.log.2.gz"))).toBe(false);
    expect((await stat(path.join(logs, "app.log"))).size).toBe(1000);
    expect(existsSync(path.join(logs, "app.log.2"))).toBe(true);
    expect(existsSync(path.join(dir, "elsewhere/old.log.1"))).toBe(true);

    const shown = await runCcm(["tasks", "show", taskId, "--json"], { DATABASE_URL: db.url });
    expect(shown.code, shown.output).toBe(0);
    const task = JSON.parse(shown.stdout);
    expect(task).toMatchObject({ id: taskId, status: "succeeded", host, source: "alertmanager" });
    expect(task.runs).toHaveLength(1);
    expect(task.runs[0]).toMatchObject({ status: "succeeded", agent_host: host, playbook: "disk-full" });
    const actions = task.runs[0].steps.map((s: { action: string }) => s.action);
    expect(actions).toContain("remove_files");
    const removed = JSON.stringify(task.runs[0].steps);
    expect(removed).toContain(path.join(logs, "app.log.1"));

    const listed = await runCcm(["tasks", "list"], { DATABASE_URL: db.url });
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(taskId.slice(0, 8));

    // Graceful stop: both exit 0 on SIGTERM.
    agent.kill("SIGTERM");
    hub.kill("SIGTERM");
    expect(await agent.exited).toBe(0);
    expect(await hub.exited).toBe(0);
  });
});
