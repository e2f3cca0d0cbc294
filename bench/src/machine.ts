import os from "node:os";
import type { Pool } from "@ccm/store";

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  ramGiB: number;
  os: string;
  node: string;
  postgres: string;
  postgresMaxConnections: number;
  date: string;
  /** 1-minute load average when the run started and ended: other work on the machine skews every figure. */
  loadAverage: { start: number; end?: number };
}

export async function machineInfo(pool: Pool): Promise<MachineInfo> {
  const { rows } = await pool.query<{ v: string; max: string }>(
    "select current_setting('server_version') as v, current_setting('max_connections') as max",
  );
  return {
    cpuModel: os.cpus()[0]?.model.trim() ?? "unknown",
    cores: os.cpus().length,
    ramGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    postgres: rows[0]?.v ?? "unknown",
    postgresMaxConnections: Number(rows[0]?.max ?? Number.NaN),
    date: new Date().toISOString(),
    loadAverage: { start: Math.round((os.loadavg()[0] ?? 0) * 100) / 100 },
  };
}
