import { randomBytes } from "node:crypto";
import pg from "pg";
import { createPool, migrate, type Pool } from "@ccm/store";

export const DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";

export interface BenchDatabase {
  name: string;
  url: string;
  pool: Pool;
  /** Drop the database; safe to call twice. */
  drop(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function admin<T>(adminUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: adminUrl, application_name: "ccm-bench-admin" });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** A fresh `ccm_bench_<random>` database with every migration applied; never the shared one. */
export async function createBenchDatabase(adminUrl: string): Promise<BenchDatabase> {
  const name = `ccm_bench_${randomBytes(5).toString("hex")}`;
  await admin(adminUrl, (c) => c.query(`create database ${name}`));
  const url = withDatabase(adminUrl, name);
  let dropping: Promise<void> | undefined;
  const pool = createPool(url, { max: 2, applicationName: "ccm-bench" });
  const drop = (): Promise<void> =>
    (dropping ??= (async () => {
      await pool.end().catch(() => undefined);
      await admin(adminUrl, (c) => c.query(`drop database if exists ${name} with (force)`));
    })());
  try {
    await migrate(url);
  } catch (err) {
    await drop();
    throw err;
  }
  return { name, url, pool, drop };
}

/** Empty every CCM table so each measured run starts from the same state. */
export async function resetData(pool: Pool): Promise<void> {
  await pool.query("truncate ccm.run_steps, ccm.runs, ccm.alerts, ccm.tasks, ccm.agents cascade");
}

/** Connection slots of the server not taken by anyone (all databases). */
export async function freeConnections(pool: Pool): Promise<{ max: number; used: number; free: number }> {
  const { rows } = await pool.query<{ max: number; used: number }>(
    "select current_setting('max_connections')::int as max, (select count(*)::int from pg_stat_activity where backend_type = 'client backend') as used",
  );
  const r = rows[0] as { max: number; used: number };
  return { ...r, free: r.max - r.used };
}
