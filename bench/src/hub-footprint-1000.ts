import { mkdtemp, rm } from "node:fs/promises";
import { freePort } from "../../test/support/processes.ts";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { resetData } from "./bench-db.ts";
import { alivePid, CLI, spawnNode, stopChild, type Proc } from "./child.ts";
import { rssBytes } from "./proc.ts";
import { fmt, ratio, sleep, summarize, type Summary } from "./stats.ts";
import type { Benchmark } from "./types.ts";

const AGENTS = 1_000;
const HEARTBEAT_MS = 15_000;
const BASELINE_MS = Number(process.env.CCM_BENCH_HUB_BASELINE_MS ?? 20_000);
const LOAD_MS = Number(process.env.CCM_BENCH_HUB_LOAD_MS ?? 60_000);
const SCRAPE_MS = 5_000;
const RSS_EVERY_MS = 500;
const READY_TIMEOUT_MS = 30_000;
const MiB = 1024 * 1024;

interface Window {
  rssMiB: Summary;
  scrapeMs: Summary;
  metricsBytes: number;
}

async function scrape(url: string): Promise<{ ms: number; bytes: number }> {
  const t0 = performance.now();
  const res = await fetch(url);
  const body = await res.text();
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`GET /metrics: HTTP ${res.status} ${body.slice(0, 300)}`);
  return { ms, bytes: body.length };
}

/** RSS every RSS_EVERY_MS and a /metrics scrape every SCRAPE_MS, for `ms`. */
async function observe(hub: Proc, metricsUrl: string, ms: number): Promise<Window> {
  const pid = alivePid(hub, "ccm hub");
  const rss: number[] = [];
  const scrapes: number[] = [];
  let bytes = 0;
  const t0 = performance.now();
  let nextScrape = 0;
  for (let t = 0; t <= ms; t = performance.now() - t0) {
    rss.push(rssBytes(pid) / MiB);
    if (t >= nextScrape) {
      const s = await scrape(metricsUrl);
      scrapes.push(s.ms);
      bytes = s.bytes;
      nextScrape += SCRAPE_MS;
    }
    await sleep(RSS_EVERY_MS);
  }
  return { rssMiB: summarize(rss), scrapeMs: summarize(scrapes), metricsBytes: bytes };
}

const mib = (s: Summary): string => `median ${fmt(s.median)} MiB, max ${fmt(s.max)} MiB (n=${s.n})`;
const lat = (s: Summary): string => `p50 ${fmt(s.p50)} ms, p99 ${fmt(s.p99)} ms (n=${s.n})`;

export const hubFootprint1000: Benchmark = {
  name: "hub-footprint-1000",
  measures:
    `RSS of a real hub process (node --import tsx apps/cli/src/main.ts hub, warn logs) with ${AGENTS} simulated agents ` +
    `heartbeating (each calls ccm.heartbeat(id, facts) every ${HEARTBEAT_MS / 1000} s, ≈${fmt((AGENTS * 1000) / HEARTBEAT_MS)}/s, ` +
    `from a 4-connection pool in the bench process) for ${LOAD_MS / 1000} s while GET /metrics is scraped every ${SCRAPE_MS / 1000} s; ` +
    `RSS from /proc/<pid>/status every ${RSS_EVERY_MS} ms. Baseline: the same hub process over ${BASELINE_MS / 1000} s before ` +
    `any agent exists (0 agents, same scrape).`,

  async run(ctx) {
    await resetData(ctx.pool);
    const port = await freePort();
    // The hub's home (CCM_HOME) in a temp folder, never the repository's .ccm.
    const home = await mkdtemp(path.join(os.tmpdir(), "ccm-bench-hub-"));
    const hub = spawnNode(["--import", "tsx", CLI, "hub"], {
      DATABASE_URL: ctx.databaseUrl,
      CCM_HUB_PORT: String(port),
      CCM_HUB_HOST: "127.0.0.1",
      CCM_HUB_MIGRATE: "false",
      CCM_LOG_LEVEL: "warn",
      CCM_HOME: home,
    });
    const load = new pg.Pool({ connectionString: ctx.databaseUrl, max: 4 });
    const cleanup = async () => {
      await stopChild(hub);
      await load.end().catch(() => undefined);
      await rm(home, { recursive: true, force: true });
    };
    const untrack = ctx.onCleanup(cleanup);
    const metricsUrl = `http://127.0.0.1:${port}/metrics`;
    try {
      const deadline = Date.now() + READY_TIMEOUT_MS;
      for (;;) {
        alivePid(hub, "ccm hub");
        const ok = await scrape(metricsUrl).then(
          () => true,
          () => false,
        );
        if (ok) break;
        if (Date.now() > deadline) throw new Error(`the hub did not serve /metrics within ${READY_TIMEOUT_MS} ms: ${hub.tail()}`);
        await sleep(200);
      }
      ctx.progress(`hub-footprint-1000: hub pid ${hub.child.pid} on port ${port}; baseline ${BASELINE_MS / 1000} s with 0 agents`);
      const idle = await observe(hub, metricsUrl, BASELINE_MS);

      const { rows } = await ctx.pool.query<{ id: string }>(
        `select ccm.enroll_agent('sim-' || g) as id from generate_series(1, ${AGENTS}) g`,
      );
      const ids = rows.map((r) => r.id);
      const facts = JSON.stringify({ hostname: "sim", platform: "linux", cpus: 2, mem_total_bytes: 4 * 1024 * MiB, loadavg: [0.1, 0.1, 0.1] });
      ctx.progress(`hub-footprint-1000: ${ids.length} agents enrolled; heartbeating for ${LOAD_MS / 1000} s`);

      // One heartbeat every HEARTBEAT_MS / AGENTS ms, round-robin: every agent once per HEARTBEAT_MS.
      let sent = 0;
      let failed = 0;
      let running = true;
      const inFlight = new Set<Promise<void>>();
      const heartbeats = (async () => {
        const t0 = performance.now();
        while (running) {
          const id = ids[sent % ids.length];
          sent++;
          const p: Promise<void> = load.query("select ccm.heartbeat($1, $2::jsonb)", [id, facts]).then(
            () => undefined,
            () => void failed++,
          );
          inFlight.add(p);
          void p.finally(() => inFlight.delete(p));
          const wait = t0 + (sent * HEARTBEAT_MS) / ids.length - performance.now();
          if (wait > 0) await sleep(wait);
        }
      })();
      const t0 = performance.now();
      let loaded: Window;
      try {
        loaded = await observe(hub, metricsUrl, LOAD_MS);
      } finally {
        running = false;
        await heartbeats;
        await Promise.all(inFlight);
      }
      const rate = sent / ((performance.now() - t0) / 1000);
      ctx.progress(
        `hub-footprint-1000: RSS median ${fmt(loaded.rssMiB.median)} MiB (idle ${fmt(idle.rssMiB.median)}), ` +
          `${sent} heartbeats (${fmt(rate)}/s, ${failed} failed), /metrics p99 ${fmt(loaded.scrapeMs.p99)} ms`,
      );
      const warnings = failed > 0 ? [`hub-footprint-1000: ${failed} of ${sent} heartbeats failed`] : [];
      return {
        rows: [
          {
            case: `hub RSS, ${AGENTS} agents heartbeating every ${HEARTBEAT_MS / 1000} s (${fmt(rate)}/s achieved) + /metrics every ${SCRAPE_MS / 1000} s, ${LOAD_MS / 1000} s`,
            ccm: mib(loaded.rssMiB),
            baseline: `same hub, 0 agents, ${BASELINE_MS / 1000} s: ${mib(idle.rssMiB)}`,
            ratio: ratio(loaded.rssMiB.median, idle.rssMiB.median),
            ratioOf: `median RSS, ${AGENTS} agents / 0 agents`,
          },
          {
            case: `GET /metrics latency with ${AGENTS} agents (${fmt(loaded.metricsBytes / 1024)} KiB body)`,
            ccm: lat(loaded.scrapeMs),
            baseline: `0 agents (${fmt(idle.metricsBytes / 1024)} KiB): ${lat(idle.scrapeMs)}`,
            ratio: ratio(loaded.scrapeMs.p50, idle.scrapeMs.p50),
            ratioOf: `p50 scrape, ${AGENTS} agents / 0 agents`,
          },
        ],
        warnings,
        details: {
          agents: AGENTS,
          heartbeatMs: HEARTBEAT_MS,
          baselineMs: BASELINE_MS,
          loadMs: LOAD_MS,
          heartbeatsSent: sent,
          heartbeatsFailed: failed,
          heartbeatsPerSecond: rate,
          idle,
          loaded,
        },
      };
    } finally {
      untrack();
      await cleanup();
    }
  },
};
