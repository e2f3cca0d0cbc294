import type { ProcEntry } from "../actions/proc-table.ts";
import type { OwnedProcess } from "./process-owner.ts";

/** A consumer of memory or CPU: an allow-listed service (all its processes) or one process nobody owns. */
export interface Consumer {
  service: string | null;
  /** "service web (3 processes)" or "pid 123 (node: node -e …)": how a human reads it. */
  label: string;
  /** Bytes of RSS or percent of one core, summed over its processes. */
  value: number;
  pids: number[];
}

/** Group processes by owning service (unowned ones stand alone), largest first. */
export function groupConsumers<P extends ProcEntry>(owned: readonly OwnedProcess<P>[], value: (p: P) => number): Consumer[] {
  const groups = new Map<string, Consumer>();
  for (const o of owned) {
    const key = o.owner ? `service:${o.owner.service}` : `pid:${o.proc.pid}`;
    const g = groups.get(key) ?? {
      service: o.owner?.service ?? null,
      label: o.owner ? `service ${o.owner.service}` : `pid ${o.proc.pid} (${o.proc.name}: ${o.proc.command.slice(0, 80) || "?"})`,
      value: 0,
      pids: [],
    };
    g.value += value(o.proc);
    g.pids.push(o.proc.pid);
    groups.set(key, g);
  }
  const list = [...groups.values()].sort((a, b) => b.value - a.value);
  for (const g of list) if (g.service && g.pids.length > 1) g.label += ` (${g.pids.length} processes)`;
  return list;
}

/** One process as evidence: what it is, what it uses, and what it belongs to. */
export function processEvidence<P extends ProcEntry>(o: OwnedProcess<P>, extra: (p: P) => Record<string, unknown>): Record<string, unknown> {
  return {
    pid: o.proc.pid,
    ppid: o.proc.ppid,
    name: o.proc.name,
    uid: o.proc.uid,
    ...extra(o.proc),
    command: o.proc.command,
    cgroup: o.cgroup,
    unit: o.unit,
    service: o.owner?.service ?? null,
    owned_via: o.owner?.via ?? null,
  };
}
