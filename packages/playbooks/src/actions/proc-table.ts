import { readdir, readFile } from "node:fs/promises";
import os from "node:os";
import { sleep } from "../shared/sleep.ts";

/** One process as /proc shows it. Read-only evidence: nothing here is ever executed. */
export interface ProcEntry {
  pid: number;
  ppid: number;
  /** /proc/<pid>/comm (at most 15 characters). */
  name: string;
  rssBytes: number;
  /** utime + stime in clock ticks. */
  cpuTicks: number;
  /** Start time in ticks since boot: with the pid, identifies a process across two readings. */
  startTicks: number;
  uid: number | null;
  /** Command line, truncated to 300 characters. */
  command: string;
}

// Linux reports process times in USER_HZ, which is 100 on every architecture's userspace ABI.
const USER_HZ = 100;

async function readText(file: string): Promise<string | null> {
  try {
    return await readFile(file, "utf8");
  } catch {
    return null; // the process exited between readdir and read, or is not ours to read
  }
}

/** One process, or null when it is gone. */
export async function readProcess(pid: number): Promise<ProcEntry | null> {
  const [stat, status, cmdline] = await Promise.all([
    readText(`/proc/${pid}/stat`),
    readText(`/proc/${pid}/status`),
    readText(`/proc/${pid}/cmdline`),
  ]);
  if (!stat || !status) return null;
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split at the last ')'.
  const close = stat.lastIndexOf(")");
  const name = stat.slice(stat.indexOf("(") + 1, close);
  const f = stat.slice(close + 2).split(" ");
  const field = (key: string) => new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(status)?.[1];
  const rssKb = Number(field("VmRSS") ?? 0);
  const uid = field("Uid");
  return {
    pid,
    ppid: Number(f[1]),
    name,
    rssBytes: rssKb * 1024,
    cpuTicks: Number(f[11]) + Number(f[12]),
    startTicks: Number(f[19]),
    uid: uid === undefined ? null : Number(uid),
    command: (cmdline ?? "").replace(/\0+$/, "").replace(/\0/g, " ").slice(0, 300),
  };
}

/** Every process this agent can see. */
export async function readProcTable(): Promise<ProcEntry[]> {
  const pids = (await readdir("/proc")).filter((d) => /^\d+$/.test(d)).map(Number);
  const all = await Promise.all(pids.map(readProcess));
  return all.filter((p): p is ProcEntry => p !== null);
}

export interface MemoryUsage {
  totalBytes: number;
  availableBytes: number;
  /** (total - available) / total: what the kernel cannot give back without swapping or killing. */
  usedPercent: number;
  swapUsedBytes: number;
}

export async function readMemoryUsage(): Promise<MemoryUsage> {
  const text = await readFile("/proc/meminfo", "utf8");
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? 0) * 1024;
  const total = kb("MemTotal");
  const available = kb("MemAvailable");
  return {
    totalBytes: total,
    availableBytes: available,
    usedPercent: total > 0 ? (100 * (total - available)) / total : 0,
    swapUsedBytes: kb("SwapTotal") - kb("SwapFree"),
  };
}

/** Busy and total ticks of all CPUs (/proc/stat "cpu" line); iowait counts as idle. */
async function hostTicks(): Promise<{ busy: number; total: number }> {
  const line = (await readFile("/proc/stat", "utf8")).split("\n").find((l) => l.startsWith("cpu "));
  const v = (line ?? "").trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user/nice)
  const total = v.slice(0, 8).reduce((s, x) => s + (Number.isFinite(x) ? x : 0), 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

export type SampledProcess = ProcEntry & { cpuPercent: number };

export interface CpuSample {
  intervalMs: number;
  /** Share of all CPUs busy during the interval. */
  busyPercent: number;
  cores: number;
  loadavg: number[];
  /** Every process alive at both readings; cpuPercent is of one core (200 = two cores fully busy). */
  processes: SampledProcess[];
}

/** CPU use of the host and of every process over `intervalMs` (two /proc readings). */
export async function sampleCpu(intervalMs: number, signal: AbortSignal): Promise<CpuSample> {
  const [h0, p0] = await Promise.all([hostTicks(), readProcTable()]);
  const t0 = performance.now();
  await sleep(intervalMs, signal);
  const [h1, p1] = await Promise.all([hostTicks(), readProcTable()]);
  const seconds = (performance.now() - t0) / 1000;
  const before = new Map(p0.map((p) => [`${p.pid}/${p.startTicks}`, p.cpuTicks]));
  const processes: SampledProcess[] = [];
  for (const p of p1) {
    const ticks = before.get(`${p.pid}/${p.startTicks}`);
    if (ticks === undefined) continue;
    processes.push({ ...p, cpuPercent: seconds > 0 ? (100 * (p.cpuTicks - ticks)) / USER_HZ / seconds : 0 });
  }
  const dTotal = h1.total - h0.total;
  return {
    intervalMs: Math.round(seconds * 1000),
    busyPercent: dTotal > 0 ? (100 * (h1.busy - h0.busy)) / dTotal : 0,
    cores: os.cpus().length,
    loadavg: os.loadavg(),
    processes,
  };
}

/** The cgroup path of a process (v2 unified line, else the systemd v1 line); null when unreadable. */
export async function readCgroup(pid: number): Promise<string | null> {
  const text = await readText(`/proc/${pid}/cgroup`);
  if (!text) return null;
  const lines = text.trim().split("\n");
  const pick = lines.find((l) => l.startsWith("0::")) ?? lines.find((l) => l.includes(":name=systemd:"));
  return pick ? pick.slice(pick.indexOf(":", pick.indexOf(":") + 1) + 1) : null;
}
