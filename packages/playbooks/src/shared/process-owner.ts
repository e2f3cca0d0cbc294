import { readFile } from "node:fs/promises";
import type { HostActionsConfig } from "../actions/config.ts";
import { readCgroup, type ProcEntry } from "../actions/proc-table.ts";

/** Which allow-listed service a process belongs to, and how we know. */
export interface Owner {
  service: string;
  via: "pid_file" | "cgroup" | "process_name";
}

export interface OwnedProcess<P extends ProcEntry = ProcEntry> {
  proc: P;
  owner: Owner | null;
  /** cgroup path and the systemd unit in it, when readable: evidence for a human. */
  cgroup: string | null;
  unit: string | null;
}

const unitOf = (cgroup: string | null) => cgroup?.split("/").reverse().find((s) => s.endsWith(".service")) ?? null;

async function readPid(file: string): Promise<number | null> {
  try {
    const n = Number((await readFile(file, "utf8")).trim());
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

/**
 * Attribute processes to allow-listed services (`actions.services`): the service's `pid_file` (the
 * process or an ancestor), its systemd unit (cgroup), or its `processes` names when exactly one
 * service claims the name. Anything else has no owner and is never restarted.
 */
export async function attributeProcesses<P extends ProcEntry>(config: HostActionsConfig, procs: readonly P[]): Promise<OwnedProcess<P>[]> {
  const mainPids = new Map<number, string>();
  const units = new Map<string, string>();
  const names = new Map<string, string[]>();
  for (const [key, svc] of Object.entries(config.services)) {
    if (svc.pid_file) {
      const pid = await readPid(svc.pid_file);
      if (pid) mainPids.set(pid, key);
    }
    const u = svc.unit ?? key;
    units.set(u.includes(".") ? u : `${u}.service`, key);
    for (const n of svc.processes) names.set(n, [...(names.get(n) ?? []), key]);
  }
  const parent = new Map(procs.map((p) => [p.pid, p.ppid]));
  const byPidFile = (pid: number): string | null => {
    let cur: number | undefined = pid;
    for (let i = 0; i < 32 && cur && cur > 1; i++) {
      const hit = mainPids.get(cur);
      if (hit) return hit;
      cur = parent.get(cur);
    }
    return null;
  };
  return Promise.all(
    procs.map(async (proc) => {
      const cgroup = await readCgroup(proc.pid);
      const unit = unitOf(cgroup);
      const viaPid = byPidFile(proc.pid);
      const viaUnit = unit ? units.get(unit) : undefined;
      const viaName = names.get(proc.name);
      const owner: Owner | null = viaPid
        ? { service: viaPid, via: "pid_file" }
        : viaUnit
          ? { service: viaUnit, via: "cgroup" }
          : viaName?.length === 1
            ? { service: viaName[0] as string, via: "process_name" }
            : null;
      return { proc, owner, cgroup, unit };
    }),
  );
}
