import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { resetData } from "./bench-db.ts";
import { cpuSeconds, rssBytes } from "./proc.ts";
import { fmt, ratio, sleep, summarize, type Summary } from "./stats.ts";
import type { Benchmark } from "./types.ts";

const WARMUP_MS = 5_000;
const SAMPLE_MS = Number(process.env.CCM_BENCH_IDLE_MS ?? 20_000);
const EVERY_MS = 500;
const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CLI = path.join(REPO_ROOT, "apps/cli/src/main.ts");
const MiB = 1024 * 1024;

interface Sampled {
  rssMiB: Summary;
  cpuPercent: number;
  cpuSeconds: number;
}

interface Proc {
  child: ChildProcess;
  tail(): string;
}

function start(args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr?.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
  return { child, tail: () => err };
}

function alive(p: Proc, what: string): number {
  if (p.child.exitCode !== null || p.child.signalCode !== null || p.child.pid === undefined) {
    throw new Error(`${what} exited (${p.child.exitCode ?? p.child.signalCode}): ${p.tail()}`);
  }
  return p.child.pid;
}

/** Sample both processes over the same window, so background load touches both alike. */
async function sample(procs: Array<{ p: Proc; what: string }>): Promise<Sampled[]> {
  const pids = procs.map(({ p, what }) => alive(p, what));
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

async function stop(p: Proc): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.child.once("exit", () => r()));
  p.child.kill("SIGTERM");
  const timer = setTimeout(() => p.child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

export const agentIdleRss: Benchmark = {
  name: "agent-idle-rss",
  measures:
    `Memory and CPU of an idle \`ccm agent\` process (node --import tsx apps/cli/src/main.ts agent: enrolled, LISTENing, ` +
    `5 s poll, 15 s heartbeat, info logs) sampled from /proc every ${EVERY_MS} ms for ${SAMPLE_MS / 1000} s after a ` +
    `${WARMUP_MS / 1000} s warm-up. Baseline: \`node -e "setInterval(()=>{},1000)"\` sampled over the same window.`,

  async run(ctx) {
    await resetData(ctx.pool);
    const dir = await mkdtemp(path.join(os.tmpdir(), "ccm-bench-agent-"));
    const configPath = path.join(dir, "agent.yaml");
    // YAML is a superset of JSON.
    await writeFile(configPath, JSON.stringify({ host: "bench-idle-agent", poll_interval_ms: 5_000 }, null, 2));

    const agent = start(["--import", "tsx", CLI, "agent"], { DATABASE_URL: ctx.databaseUrl, CCM_AGENT_CONFIG: configPath, CCM_LOG_LEVEL: "info" });
    const bare = start(["-e", "setInterval(()=>{},1000)"], {});
    const cleanup = async () => {
      await Promise.all([stop(agent), stop(bare)]);
      await rm(dir, { recursive: true, force: true });
    };
    const untrack = ctx.onCleanup(cleanup);
    try {
      ctx.progress(`agent-idle-rss: agent pid ${agent.child.pid}, bare node pid ${bare.child.pid}; warming up ${WARMUP_MS / 1000} s`);
      await sleep(WARMUP_MS);
      const { rows } = await ctx.pool.query("select id from ccm.agents where host = 'bench-idle-agent'");
      if (rows.length !== 1) throw new Error(`the agent did not enrol within ${WARMUP_MS} ms: ${agent.tail()}`);
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
