import si from "systeminformation";

export interface ProcessInfo {
  pid: number;
  name: string;
  /** Resident memory, bytes. */
  rssBytes: number;
  cpuPercent: number;
  user: string;
  /** Command line, truncated: evidence for a human, never executed. */
  command: string;
}

export interface HostFacts {
  memory: { totalBytes: number; availableBytes: number; usedPercent: number; swapUsedBytes: number };
  cpu: { loadPercent: number; cores: number; loadavg: number[] };
  filesystems: Array<{ mount: string; usedPercent: number; sizeBytes: number }>;
}

/** Memory, CPU and filesystem facts of this host (systeminformation). */
export async function hostFacts(): Promise<HostFacts> {
  const [mem, load, fs] = await Promise.all([si.mem(), si.currentLoad(), si.fsSize().catch(() => [])]);
  return {
    memory: {
      totalBytes: mem.total,
      availableBytes: mem.available,
      usedPercent: mem.total > 0 ? (100 * (mem.total - mem.available)) / mem.total : 0,
      swapUsedBytes: mem.swapused,
    },
    cpu: { loadPercent: load.currentLoad, cores: load.cpus.length, loadavg: [load.avgLoad] },
    filesystems: fs.slice(0, 30).map((f) => ({ mount: f.mount, usedPercent: f.use, sizeBytes: f.size })),
  };
}

/** The top `n` processes by `by` (resident memory or CPU). */
export async function topProcesses(by: "memory" | "cpu", n: number): Promise<ProcessInfo[]> {
  const { list } = await si.processes();
  const procs = list.map((p) => ({
    pid: p.pid,
    name: p.name,
    rssBytes: (p.memRss ?? 0) * 1024,
    cpuPercent: p.cpu ?? 0,
    user: p.user ?? "",
    command: `${p.command ?? ""} ${p.params ?? ""}`.trim().slice(0, 300),
  }));
  procs.sort((a, b) => (by === "memory" ? b.rssBytes - a.rssBytes : b.cpuPercent - a.cpuPercent));
  return procs.slice(0, n);
}
