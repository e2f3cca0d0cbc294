import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { writeAgentConfig } from "./agent-config-file.ts";
import { resetData } from "./bench-db.ts";
import { alivePid, CLI, spawnNode, stopChild, type Proc } from "./child.ts";
import { cpuSeconds, rssBytes } from "./proc.ts";
import { fmt, ratio, sleep, summarize, type Summary } from "./stats.ts";
import type { Benchmark } from "./types.ts";

const WARMUP_MS = 5_000;
const ENROL_TIMEOUT_MS = 30_000;
const SAMPLE_MS = Number(process.env.CCM_BENCH_IDLE_MS ?? 60_000);
const EVERY_MS = 500;
const MiB = 1024 * 1024;

interface Sampled {
  rssMiB: Summary;
  cpuPercent: number;
  cpuSeconds: number;
}

/** Sample both processes over the same window, so background load touches both alike. */
async function sample(procs: Array<{ p: Proc; what: string }>): Promise<Sampled[]> {
  const pids = procs.map(({ p, what }) => alivePid(p, what));
  const rss: number[][] = pids.map(() => []);
  const cpu0 = pids.map(cpuSeconds);
  const t0 = performance.now();
  for (let t = 0; t <= SAMPLE_MS; t += EVERY_MS) {
    pids.forEach((pid, i) => rss[i]?.push(rssBytes(pid) / MiB));
    if (t < SAMPLE_MS) await sleep(EVERY_MS);
  }
  const elapsed = (performance.now() - t0) / 1000;
  return pids.map((pid, i) => {
    const used = cpuSeconds(pid) - (cpu0[i] ?? 0);
    return { rssMiB: summarize(rss[i] ?? []), cpuSeconds: used, cpuPercent: (used / elapsed) * 100 };
  });
}

export const agentIdleRss: Benchmark = {
  name: "agent-idle-rss",
  measures:
    `Memory and CPU of an idle \`ccm agent\` process (node --import tsx apps/cli/src/main.ts agent: enrolled, LISTENing, ` +
    `5 s poll, 15 s heartbeat, info logs) sampled from /proc every ${EVERY_MS} ms for ${SAMPLE_MS / 1000} s after a ` +
    `${WARMUP_MS / 1000} s warm-up from enrolment. Baseline: \`node -e "setInterval(()=>{},1000)"\` sampled over the same window.`,

  async run(ctx) {
    await resetData(ctx.pool);
    const dir = await mkdtemp(path.join(os.tmpdir(), "ccm-bench-agent-"));
    const configPath = await writeAgentConfig(dir, { host: "bench-idle-agent", poll_interval_ms: 5_000 });

    const agent = spawnNode(["--import", "tsx", CLI, "agent"], { DATABASE_URL: ctx.databaseUrl, CCM_AGENT_CONFIG: configPath, CCM_LOG_LEVEL: "info" });
    const bare = spawnNode(["-e", "setInterval(()=>{},1000)"], {});
    const cleanup = async () => {
      await Promise.all([stopChild(agent), stopChild(bare)]);
      await rm(dir, { recursive: true, force: true });
    };
    const untrack = ctx.onCleanup(cleanup);
    try {
      ctx.progress(`agent-idle-rss: agent pid ${agent.child.pid}, bare node pid ${bare.child.pid}; waiting for enrolment`);
      // Start-up (tsx compiling the CLI) takes seconds on a loaded machine: the warm-up starts at enrolment.
      const deadline = Date.now() + ENROL_TIMEOUT_MS;
      for (;;) {
        alivePid(agent, "ccm agent");
        const { rowCount } = await ctx.pool.query("select id from ccm.agents where host = 'bench-idle-agent'");
        if (rowCount === 1) break;
        if (Date.now() > deadline) throw new Error(`the agent did not enrol within ${ENROL_TIMEOUT_MS} ms: ${agent.tail()}`);
        await sleep(100);
      }
      ctx.progress(`agent-idle-rss: enrolled; warming up ${WARMUP_MS / 1000} s`);
      await sleep(WARMUP_MS);
      ctx.progress(`agent-idle-rss: sampling for ${SAMPLE_MS / 1000} s`);
      const [ccm, node] = (await sample([
        { p: agent, what: "ccm agent" },
        { p: bare, what: "bare node" },
      ])) as [Sampled, Sampled];
      ctx.progress(
        `agent-idle-rss: agent RSS median ${fmt(ccm.rssMiB.median)} MiB (max ${fmt(ccm.rssMiB.max)}), CPU ${fmt(ccm.cpuPercent)} %; ` +
          `bare node RSS median ${fmt(node.rssMiB.median)} MiB, CPU ${fmt(node.cpuPercent)} %`,
      );
      return {
        rows: [
          {
            case: `idle agent RSS (${ccm.rssMiB.n} samples over ${SAMPLE_MS / 1000} s)`,
            ccm: `median ${fmt(ccm.rssMiB.median)} MiB, p99 ${fmt(ccm.rssMiB.p99)} MiB, max ${fmt(ccm.rssMiB.max)} MiB`,
            baseline: `bare node: median ${fmt(node.rssMiB.median)} MiB, max ${fmt(node.rssMiB.max)} MiB`,
            ratio: ratio(ccm.rssMiB.median, node.rssMiB.median),
            ratioOf: "median RSS, agent / bare node",
          },
          {
            case: `idle agent CPU (average over ${SAMPLE_MS / 1000} s)`,
            ccm: `${fmt(ccm.cpuPercent)} % of one core (${fmt(ccm.cpuSeconds * 1000)} ms CPU)`,
            baseline: `bare node: ${fmt(node.cpuPercent)} % (${fmt(node.cpuSeconds * 1000)} ms CPU)`,
            ratio: ratio(ccm.cpuPercent, node.cpuPercent),
            ratioOf: "CPU time, agent / bare node",
          },
        ],
        warnings: [],
        details: { warmupMs: WARMUP_MS, sampleMs: SAMPLE_MS, everyMs: EVERY_MS, agent: ccm, bareNode: node },
      };
    } finally {
      untrack();
      await cleanup();
    }
  },
};
