import pg from "pg";

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export interface PoolOptions {
  /** Max connections this process holds. */
  max?: number;
  /** How long to wait for a connection before giving up (ms); keeps webhook latency bounded in an outage. */
  connectionTimeoutMillis?: number;
  applicationName?: string;
}

/** A pg pool that never crashes the process on an idle client's error (the next query reports it). */
export function createPool(connectionString: string, options: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5_000,
    idleTimeoutMillis: 30_000,
    application_name: options.applicationName ?? "ccm",
  });
  pool.on("error", () => {
    // An idle client lost its connection; pg removes it from the pool. Queries surface the outage.
  });
  return pool;
}

/** Run `fn` in a transaction; rolls back on any error. */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("begin");
    const result = await fn(client);
    await client.query("commit");
    return result;
  } catch (err) {
    await client.query("rollback").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
