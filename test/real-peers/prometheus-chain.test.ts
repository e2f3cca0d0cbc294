import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { createTestDatabase, waitFor, type TestDatabase } from "../support/db.ts";
import { freePort, REPO_ROOT, spawnCcm, type CcmProcess } from "../support/processes.ts";
import { fill, peerBinaries, startPeer, type Peer } from "../support/peers.ts";

// node_exporter → Prometheus rule → Alertmanager → hub → agent disk-full → space back →
// Alertmanager "resolved" → task closed. Everything real, on loopback, on a tmpfs this test mounts.

const bins = peerBinaries();
const isRoot = process.getuid?.() === 0;
const skipReason = !bins
  ? "prometheus, prometheus-alertmanager or prometheus-node-exporter not installed (apt-get install them; .ci/run does)"
  : !isRoot
    ? "mounting a tmpfs needs root"
    : null;
if (skipReason) console.warn(`[real-peer chain test] SKIPPED: ${skipReason}`);

const MiB = 1024 * 1024;
const OLD = new Date(Date.now() - 30 * 86_400_000);
let db: TestDatabase;
let work: string;
let mnt: string;
let mounted = false;
const peers: Peer[] = [];
const ccm: CcmProcess[] = [];

beforeAll(async () => {
  if (skipReason) return;
  db = await createTestDatabase();
  work = await mkdtemp(path.join(os.tmpdir(), "ccm-chain-"));
  mnt = path.join(work, "data");
  await mkdir(mnt);
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=8m,mode=0755", "ccm-chain-test", mnt]);
  mounted = true;
});

afterAll(async () => {
  for (const p of ccm) p.kill("SIGKILL");
  await Promise.all(peers.map((p) => p.stop()));
  if (mounted) execFileSync("umount", ["-l", mnt]);
  if (work) await rm(work, { recursive: true, force: true });
  await db?.drop();
});

describe.skipIf(skipReason !== null)("real Prometheus + Alertmanager + node_exporter chain", () => {
  it("a filling disk is cleaned by the agent and the resolved alert closes the task", async () => {
    // 5 MiB of old rotated logs and a live log on an 8 MiB tmpfs: about 70 % used.
    const logs = path.join(mnt, "log");
    await mkdir(logs);
    for (let i = 1; i <= 5; i++) {
      const f = path.join(logs, `app.log.${i}`);
      await writeFile(f, Buffer.alloc(MiB, 1));
      await utimes(f, OLD, OLD);
    }
    await writeFile(path.join(logs, "app.log"), Buffer.alloc(MiB / 2, 1));

    const host = `chain-${process.pid}`;
    const token = "chain-test-token-0123456789";
    const [hubPort, nePort, promPort, amPort, agentMetricsPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const hubUrl = `http://127.0.0.1:${hubPort}`;

    const hub = spawnCcm(["hub"], { DATABASE_URL: db.url, CCM_HUB_PORT: String(hubPort), CCM_HUB_HOST: "127.0.0.1", CCM_WEBHOOK_TOKEN: token });
    ccm.push(hub);
    const agentConfig = path.join(work, "agent.yaml");
    await writeFile(
      agentConfig,
      stringify({
        host,
        poll_interval_ms: 1000,
        playbooks: {
          "disk-full": {
            log_dirs: [logs],
            min_age_days: 7,
            target_used_percent: 50,
            // This sandbox's init hides its fds even from root (see docs/runbooks/disk-full.md).
            ignore_unreadable_processes: ["process_api"],
          },
        },
      }),
    );
    const agent = spawnCcm(["agent"], { DATABASE_URL: db.url, CCM_AGENT_CONFIG: agentConfig, CCM_AGENT_METRICS_PORT: String(agentMetricsPort) });
    ccm.push(agent);
    await waitFor("hub ready", async () => (await fetch(`${hubUrl}/readyz`).catch(() => null))?.ok, 30_000);

    const tmpl = (f: string) => readFile(path.join(REPO_ROOT, "infra/prometheus/chain-test", f), "utf8");
    const values = {
      RULES_FILE: path.join(work, "rules.yml"),
      ALERTMANAGER: `127.0.0.1:${amPort}`,
      NODE_EXPORTER: `127.0.0.1:${nePort}`,
      AGENT_HOST: host,
      MOUNTPOINT: mnt,
      MIN_FREE_PERCENT: "50",
      HUB: hubUrl,
      HUB_TARGET: `127.0.0.1:${hubPort}`,
      AGENT_METRICS: `127.0.0.1:${agentMetricsPort}`,
      TOKEN: token,
    };
    await writeFile(path.join(work, "rules.yml"), fill(await tmpl("disk-rules.yml"), values));
    await writeFile(path.join(work, "prometheus.yml"), fill(await tmpl("prometheus.yml"), values));
    await writeFile(path.join(work, "alertmanager.yml"), fill(await tmpl("alertmanager.yml"), values));

    peers.push(
      startPeer("node_exporter", bins!.nodeExporter, [
        `--web.listen-address=127.0.0.1:${nePort}`,
        "--collector.disable-defaults",
        "--collector.filesystem",
        "--collector.filesystem.mount-points-exclude=^/(dev|proc|sys)($|/)",
      ]),
      startPeer("alertmanager", bins!.alertmanager, [
        `--config.file=${path.join(work, "alertmanager.yml")}`,
        `--storage.path=${path.join(work, "am")}`,
        `--web.listen-address=127.0.0.1:${amPort}`,
        "--cluster.listen-address=",
      ]),
      startPeer("prometheus", bins!.prometheus, [
        `--config.file=${path.join(work, "prometheus.yml")}`,
        `--storage.tsdb.path=${path.join(work, "prom")}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        "--rules.alert.resend-delay=1s",
      ]),
    );
    const diagnostics = () => [...peers.map((p) => `--- ${p.name} ---\n${p.output().slice(-3000)}`), `--- agent ---\n${agent.output().slice(-5000)}`].join("\n");

    const task = await waitFor(
      "the agent to fix the disk",
      async () => {
        const { rows } = await db.pool.query(
          "select id, status, summary from ccm.tasks where host = $1 and alertname = 'NodeFilesystemAlmostOutOfSpace'",
          [host],
        );
        const t = rows[0] as { id: string; status: string; summary: string } | undefined;
        return t && ["succeeded", "failed", "escalated", "unknown"].includes(t.status) ? t : undefined;
      },
      90_000,
      500,
    ).catch((err) => {
      throw new Error(`${err}\n${diagnostics()}`);
    });
    expect(task.status, `${task.summary}\n${diagnostics()}`).toBe("succeeded");
    expect(existsSync(path.join(logs, "app.log.1"))).toBe(false);
    expect(existsSync(path.join(logs, "app.log"))).toBe(true);

    // Prometheus sees the space back, the alert stops firing, Alertmanager sends "resolved".
    await waitFor(
      "the resolved notification",
      async () => {
        const { rows } = await db.pool.query("select resolved_at from ccm.tasks where id = $1", [task.id]);
        return rows[0]?.resolved_at;
      },
      60_000,
      500,
    ).catch((err) => {
      throw new Error(`${err}\n${diagnostics()}`);
    });
    const { rows: alerts } = await db.pool.query(
      "select status, outcome, labels->>'mountpoint' as mountpoint from ccm.alerts where task_id = $1 order by id",
      [task.id],
    );
    expect(alerts.map((a) => a.status)).toEqual(["firing", "resolved"]);
    expect(alerts[0].mountpoint).toBe(mnt);
    expect(alerts[1].outcome).toBe("resolved");

    // The same Prometheus scrapes CCM itself: the hub counted both webhooks, the agent its run.
    const query = async (q: string) => {
      const r = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`);
      const body = (await r.json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
      return body.data.result;
    };
    await waitFor(
      "Prometheus to scrape CCM's own metrics",
      async () => {
        const webhooks = await query('sum(ccm_webhooks_total{job="ccm-hub",source="alertmanager",code="200"})');
        const runs = await query('sum(ccm_agent_runs_total{job="ccm-agent",playbook="disk-full",status="succeeded"})');
        const up = await query('min(up{job=~"ccm-hub|ccm-agent"})');
        return Number(webhooks[0]?.value[1]) >= 2 && Number(runs[0]?.value[1]) >= 1 && up[0]?.value[1] === "1";
      },
      30_000,
      500,
    ).catch((err) => {
      throw new Error(`${err}\n${diagnostics()}`);
    });
  });

  it("the shipped meta-monitoring rules load in this Prometheus's promtool", () => {
    const out = execFileSync("/usr/bin/promtool", ["check", "rules", path.join(REPO_ROOT, "infra/prometheus/ccm-rules.yml")]).toString();
    expect(out).toMatch(/SUCCESS: \d+ rules found/);
  });
});
