import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { writeAgentConfig } from "./agent-config-file.ts";
import { resetData } from "./bench-db.ts";
import { alivePid, CLI, isRunning, spawnNode, stopChild, type Proc } from "./child.ts";
import { rssBytes } from "./proc.ts";
import { fmt, ratio, sleep, summarize } from "./stats.ts";
import type { BenchContext, Benchmark, ResultRow } from "./types.ts";

const FILES = Number(process.env.CCM_BENCH_DISK_FILES ?? 10_000);
const RUNS = Number(process.env.CCM_BENCH_DISK_RUNS ?? 3);
const SUBDIRS = 10;
const FILE_BYTES = 1024;
const OLD = new Date(Date.now() - 30 * 86_400_000);
const RUN_TIMEOUT_MS = 300_000;
const RSS_EVERY_MS = 50;
const IDLE_SETTLE_MS = 2_000;
const MiB = 1024 * 1024;
const FINAL = ["succeeded", "failed", "escalated", "unknown", "cancelled", "expired", "awaiting_approval"];

const run = promisify(execFile);

interface Sample {
  status: string;
  /** claimed_at → finished_at of the run (DB clock); NaN when it did not finish. */
  claimToFinishMs: number;
  summary: string | null;
  filesLeft: number;
  idleRssMiB: number;
  peakRssMiB: number;
  findMs: number;
  /** Recorded steps of the run, and the summed duration of each action (ms, DB clock), largest first. */
  steps: number;
  byAction: Array<{ action: string; n: number; ms: number }>;
}

/** FILES old rotated logs (svc-NNNNN.log.1, 1 KiB, mtime 30 days ago) spread over SUBDIRS folders. */
async function makeFiles(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  for (let d = 0; d < SUBDIRS; d++) await mkdir(path.join(dir, `app-${d}`), { recursive: true });
  const body = "x".repeat(FILE_BYTES);
  for (let i = 0; i < FILES; i += 250) {
    await Promise.all(
      Array.from({ length: Math.min(250, FILES - i) }, async (_, k) => {
        const p = path.join(dir, `app-${(i + k) % SUBDIRS}`, `svc-${String(i + k).padStart(5, "0")}.log.1`);
        await writeFile(p, body);
        await utimes(p, OLD, OLD);
      }),
    );
  }
}

async function countFiles(dir: string): Promise<number> {
  let n = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) n++;
  return n;
}

async function waitFor<T>(what: string, timeoutMs: number, agent: Proc, probe: () => Promise<T | undefined>, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`disk-full-10k: ${what} not seen within ${timeoutMs} ms; agent output: ${agent.tail()}`);
    await sleep(everyMs);
  }
}

async function one(ctx: BenchContext, base: string, i: number, register: (p: Proc) => void): Promise<Sample> {
  const work = await mkdtemp(path.join(base, `run-${i}-`));
  const logs = path.join(work, "logs");
  const host = `bench-disk-${i}`;
  await makeFiles(logs);
  const config = await writeAgentConfig(work, {
    host,
    poll_interval_ms: 1_000,
    playbooks: {
      "disk-full": {
        log_dirs: [logs],
        min_age_days: 7,
        target_used_percent: 100,
        // This sandbox's init hides its fds even from root; it writes nothing in our temp folder.
        ignore_unreadable_processes: ["process_api"],
      },
    },
  });
  const agent = spawnNode(
    ["--import", "tsx", CLI, "agent"],
    { DATABASE_URL: ctx.databaseUrl, CCM_AGENT_CONFIG: config, CCM_AGENT_METRICS_PORT: "0", CCM_LOG_LEVEL: "info" },
    true,
  );
  register(agent);
  try {
    await waitFor("enrolment", 30_000, agent, async () => {
      alivePid(agent, "ccm agent");
      const { rowCount } = await ctx.pool.query("select 1 from ccm.agents where host = $1", [host]);
      return rowCount ? true : undefined;
    });
    await sleep(IDLE_SETTLE_MS);
    const pid = alivePid(agent, "ccm agent");
    const idleRssMiB = rssBytes(pid) / MiB;

    const alert = {
      fingerprint: `bench-disk-${i}-${Date.now().toString(36)}`,
      status: "firing",
      labels: { alertname: "NodeFilesystemAlmostOutOfSpace", host, mountpoint: logs, device: "/dev/bench" },
      annotations: { summary: `disk almost full on ${host}` },
      startsAt: new Date().toISOString(),
      endsAt: null,
      generatorURL: null,
    };
    const { rows } = await ctx.pool.query<{ task_id: string | null }>("select * from ccm.ingest_alerts('alertmanager', $1, $2)", [
      `bench-disk-${i}`,
      JSON.stringify([alert]),
    ]);
    const taskId = rows[0]?.task_id;
    if (!taskId) throw new Error(`disk-full-10k: the alert created no task: ${JSON.stringify(rows[0])}`);

    // RSS peak: sampled while the run is unfinished.
    let peak = idleRssMiB;
    let sampling = true;
    const sampler = (async () => {
      while (sampling && isRunning(agent)) {
        try {
          peak = Math.max(peak, rssBytes(pid) / MiB);
        } catch {
          return;
        }
        await sleep(RSS_EVERY_MS);
      }
    })();
    let status: string;
    try {
      status = await waitFor(
        "the run finished",
        RUN_TIMEOUT_MS,
        agent,
        async () => {
          alivePid(agent, "ccm agent");
          const r = await ctx.pool.query<{ status: string }>("select status from ccm.runs where task_id = $1 order by created_at desc limit 1", [taskId]);
          const s = r.rows[0]?.status;
          return s && FINAL.includes(s) ? s : undefined;
        },
        50,
      );
    } finally {
      sampling = false;
      await sampler;
    }
    const { rows: rr } = await ctx.pool.query<{ ms: number | null; summary: string | null }>(
      `select extract(epoch from (finished_at - claimed_at)) * 1000 as ms, summary
         from ccm.runs where task_id = $1 order by created_at desc limit 1`,
      [taskId],
    );
    const filesLeft = await countFiles(logs);
    const { rows: st } = await ctx.pool.query<{ action: string; n: number; ms: number }>(
      `select s.action, count(*)::int as n, coalesce(sum(extract(epoch from (s.finished_at - s.started_at)) * 1000), 0)::float8 as ms
         from ccm.run_steps s join ccm.runs r on r.id = s.run_id
        where r.task_id = $1 group by s.action order by ms desc`,
      [taskId],
    );

    // Baseline: the same files, removed by find.
    await makeFiles(logs);
    const t0 = performance.now();
    await run("find", [logs, "-type", "f", "-delete"], { timeout: 120_000 });
    const findMs = performance.now() - t0;
    if ((await countFiles(logs)) !== 0) throw new Error("disk-full-10k: find -delete left files");

    return {
      status,
      claimToFinishMs: rr[0]?.ms === null || rr[0]?.ms === undefined ? Number.NaN : Number(rr[0].ms),
      summary: rr[0]?.summary ?? null,
      filesLeft,
      idleRssMiB,
      peakRssMiB: peak,
      findMs,
      steps: st.reduce((a, r) => a + r.n, 0),
      byAction: st.map((r) => ({ action: r.action, n: r.n, ms: Number(r.ms) })),
    };
  } finally {
    await stopChild(agent);
    await rm(work, { recursive: true, force: true });
  }
}

export const diskFull10k: Benchmark = {
  name: "disk-full-10k",
  measures:
    `A real \`ccm agent\` process (CLI from source, not dry-run, disk-full with log_dirs = a temp folder holding ${FILES} old rotated ` +
    `logs of 1 KiB in ${SUBDIRS} subfolders, min_age_days 7, target_used_percent 100, ignore_unreadable_processes [process_api]) fixes a ` +
    `NodeFilesystemAlmostOutOfSpace alert inserted with ccm.ingest_alerts (mountpoint = the temp folder): runs.claimed_at → finished_at ` +
    `(diagnose, open-file scan, recorded batches, per-file re-checks, verify), ${RUNS} runs, a fresh agent and files each. Agent RSS sampled ` +
    `from /proc every ${RSS_EVERY_MS} ms during the run vs once ${IDLE_SETTLE_MS / 1000} s after enrolment. Baseline: \`find <dir> -type f -delete\` ` +
    `(execFile) on the same files re-created.`,

  async run(ctx) {
    await resetData(ctx.pool);
    const base = await mkdtemp(path.join(os.tmpdir(), "ccm-bench-disk-"));
    const agents: Proc[] = [];
    const untrack = ctx.onCleanup(async () => {
      await Promise.all(agents.filter(isRunning).map(stopChild));
      await rm(base, { recursive: true, force: true });
    });
    const samples: Sample[] = [];
    try {
      for (let i = 1; i <= RUNS; i++) {
        const s = await one(ctx, base, i, (p) => agents.push(p));
        samples.push(s);
        ctx.progress(
          `disk-full-10k run ${i}/${RUNS}: ${s.status} in ${fmt(s.claimToFinishMs)} ms (${s.filesLeft} files left), find -delete ${fmt(s.findMs)} ms, ` +
            `RSS idle ${fmt(s.idleRssMiB)} → peak ${fmt(s.peakRssMiB)} MiB; ${s.summary ?? ""}`,
        );
      }
    } finally {
      await Promise.all(agents.filter(isRunning).map(stopChild));
      await rm(base, { recursive: true, force: true });
      untrack();
    }
    await resetData(ctx.pool);

    const warnings = samples
      .filter((s) => s.status !== "succeeded" || s.filesLeft !== 0)
      .map((s) => `disk-full-10k: a run ended ${s.status} with ${s.filesLeft} of ${FILES} files left: ${s.summary ?? ""}`);
    const fixed = samples.filter((s) => s.status === "succeeded");
    const ccm = summarize(fixed.map((s) => s.claimToFinishMs));
    const find = summarize(samples.map((s) => s.findMs));
    const idle = summarize(samples.map((s) => s.idleRssMiB));
    const peak = summarize(samples.map((s) => s.peakRssMiB));
    const list = (xs: number[]): string => xs.map((v) => fmt(v)).join(", ");
    const n = FILES.toLocaleString("en-US");
    const rows: ResultRow[] = [
      {
        case: `disk-full on ${n} old rotated logs: run claimed → finished, verified (DB clock)`,
        ccm:
          fixed.length > 0
            ? `median ${fmt(ccm.median)} ms, max ${fmt(ccm.max)} ms (${fixed.length} of ${RUNS} runs succeeded: ${list(fixed.map((s) => s.claimToFinishMs))})`
              + `; ${fixed[0]?.steps ?? 0} recorded steps, largest: ${(fixed[0]?.byAction ?? []).slice(0, 3).map((a) => `${a.action} ×${a.n} ${fmt(a.ms)} ms`).join(", ")} (first run)`
            : `no run succeeded (${samples.map((s) => s.status).join(", ")})`,
        baseline: `find -type f -delete on the same files: median ${fmt(find.median)} ms, max ${fmt(find.max)} ms (runs: ${list(samples.map((s) => s.findMs))})`,
        ratio: fixed.length > 0 ? ratio(ccm.median, find.median) : null,
        ratioOf: "median time, ccm / find -delete",
      },
      {
        case: `agent RSS while fixing ${n} files`,
        ccm: `peak median ${fmt(peak.median)} MiB, max ${fmt(peak.max)} MiB (runs: ${list(samples.map((s) => s.peakRssMiB))})`,
        baseline: `same agent idle before the alert: median ${fmt(idle.median)} MiB`,
        ratio: ratio(peak.median, idle.median),
        ratioOf: "median RSS, peak / idle",
      },
    ];
    return { rows, warnings, details: { files: FILES, fileBytes: FILE_BYTES, runs: RUNS, samples } };
  },
};
