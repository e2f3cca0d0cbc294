import type { NormalizedAlert } from "@ccm/schemas";
import { classifyDatabaseError, isConnectionError, toDb, type Db, type DbLike, type IngestResult, type Pool, type PoolClient } from "@ccm/store";
import { z } from "zod";
import { RequestRejected, ServiceOverloaded } from "../http-errors.ts";

export interface IngestorOptions {
  /** Ingests running at once; one more is answered 503 at once rather than queued. */
  maxInFlight: number;
  /** Server-side statement_timeout of one ingest. */
  statementTimeoutMs: number;
}

const resultRow = z.object({
  alert_id: z.coerce.number(),
  task_id: z.string().nullable(),
  outcome: z.string(),
  host: z.string().nullable(),
});

/**
 * Every source's way into ccm.ingest_alerts: one transaction per request with a statement
 * timeout, a bound on concurrent ingests, and database errors mapped to HTTP answers.
 * Over a direct connection the whole transaction is one round trip; over Supabase it is one
 * PostgREST rpc (its own transaction, bounded by the role's statement_timeout and the client's
 * request timeout).
 */
export class Ingestor {
  private inFlight = 0;
  private readonly db: Db;
  constructor(
    db: DbLike,
    private readonly options: IngestorOptions,
  ) {
    this.db = toDb(db);
  }

  get running(): number {
    return this.inFlight;
  }

  async ingest(source: string, groupKey: string | null, alerts: NormalizedAlert[]): Promise<IngestResult[]> {
    if (this.inFlight >= this.options.maxInFlight) {
      throw new ServiceOverloaded(`hub busy: ${this.inFlight} ingests in flight, retry later`, 1);
    }
    this.inFlight++;
    try {
      const pool = this.db.pool;
      if (!pool) {
        const rows = await this.db.call<unknown[]>("ingest_alerts", { p_source: source, p_group_key: groupKey, p_alerts: alerts });
        return rows.map((r) => resultRow.parse(r));
      }
      return await this.inTransaction(pool, async (client) => {
        // One round trip for the whole transaction (simple protocol, several statements): the
        // webhook's latency is dominated by round trips, not by the function. Values are escaped
        // by pg's escapeLiteral; the timeout is an integer we own.
        const sql =
          `begin; set local statement_timeout = ${Math.trunc(this.options.statementTimeoutMs)}; ` +
          `select * from ccm.ingest_alerts(${client.escapeLiteral(source)}, ` +
          `${groupKey === null ? "null" : client.escapeLiteral(groupKey)}, ${client.escapeLiteral(JSON.stringify(alerts))}::jsonb); ` +
          `commit;`;
        const results = (await client.query(sql)) as unknown as Array<{ rows: unknown[] }>;
        const rows = results[2]?.rows ?? [];
        return rows.map((r) => resultRow.parse(r));
      });
    } catch (err) {
      throw mapIngestError(err);
    } finally {
      this.inFlight--;
    }
  }

  private async inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    // A checked-out client whose connection dies emits 'error'; unheard, that would kill the hub.
    // The failure already reaches us as the query's rejection.
    if (!guarded.has(client)) {
      guarded.add(client);
      client.on("error", () => undefined);
    }
    let failure: unknown;
    try {
      // fn sends begin ... commit itself, in one round trip.
      return await fn(client);
    } catch (err) {
      failure = err;
      await client.query("rollback").catch(() => undefined);
      throw err;
    } finally {
      // A connection that failed is dropped, not handed to the next request.
      client.release(failure !== undefined && isConnectionError(failure));
    }
  }
}

const guarded = new WeakSet<PoolClient>();

/** Postgres said no: overload is 503 (retried), data the database refuses is 400 (never valid). */
export function mapIngestError(err: unknown): unknown {
  const classified = classifyDatabaseError(err);
  if (classified !== err) return classified; // DatabaseUnavailableError -> 503 in the error handler
  const code = (err as { code?: unknown }).code;
  if (typeof code !== "string") return err;
  if (code === "57014" || code === "55P03" || code === "40P01" || code === "40001" || code.startsWith("53")) {
    return new ServiceOverloaded("ingest did not finish in time, retry later", 5);
  }
  // 22xxx data exceptions (bad timestamp, \u0000 in text), 54xxx limits (index row size, nesting), 23514 checks.
  if (code.startsWith("22") || code.startsWith("54") || code === "23514") {
    const message = ((err as Error).message ?? "").slice(0, 300);
    return new RequestRejected(400, `alert refused by the database: ${message}`);
  }
  return err;
}
