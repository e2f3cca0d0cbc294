import { z } from "zod";
import type pg from "pg";
import { classifyDatabaseError } from "./errors.ts";

// Fleet broadcasts (issue 5): create (an INSERT the database validates and expands), read progress,
// and the operator actions. The rollout itself is ccm.advance_broadcast in SQL.

const labelConditions = z.record(z.string().min(1).max(200), z.union([z.string().max(500), z.array(z.string().max(500)).min(1).max(100)]));
const hostGlob = z.string().regex(/^[A-Za-z0-9*?][A-Za-z0-9*?._-]{0,252}$/, "a host name glob: letters, digits, . _ - * ?");

/** Which agents a broadcast targets; empty never means "all" (say `all: true`). */
export const broadcastSelectorSchema = z
  .object({
    all: z.boolean().optional(),
    hosts: z.array(hostGlob).max(200).optional(),
    labels: labelConditions.optional(),
    exclude_hosts: z.array(hostGlob).max(200).optional(),
    exclude_labels: labelConditions.optional(),
  })
  .strict()
  .refine((s) => s.all === true || (s.hosts?.length ?? 0) > 0 || Object.keys(s.labels ?? {}).length > 0, {
    message: 'selector selects nothing: give hosts, labels, or {"all": true} for the whole fleet',
  });
export type BroadcastSelector = z.infer<typeof broadcastSelectorSchema>;

const countOrPercent = z.union([z.number().int().min(0), z.string().regex(/^[0-9]{1,7}(\.[0-9]+)?%?$/, "a count (5) or a percent (10%)")]).transform(String);

/** The body of POST /v1/broadcasts and what `ccm broadcast` sends; the database re-validates all of it. */
export const broadcastSpecSchema = z
  .object({
    playbook: z.string().min(1).max(64),
    params: z.record(z.string().regex(/^[a-z_][a-z0-9_]{0,63}$/), z.union([z.string().max(1024), z.number(), z.boolean()])).default({}),
    selector: broadcastSelectorSchema,
    canary: z.number().int().min(0).max(10_000).default(1),
    batch: countOrPercent.default("10%"),
    max_failures: countOrPercent.default("0"),
    max_concurrency: z.number().int().min(1).nullable().default(null),
    dry_run: z.boolean().default(false),
    offline_ttl_s: z.number().int().min(1).max(7 * 86_400).default(600),
    run_timeout_s: z.number().int().min(1).max(7 * 86_400).default(1800),
    created_by: z.string().trim().min(1).max(200),
  })
  .strict();
export type BroadcastSpec = z.input<typeof broadcastSpecSchema>;

export const broadcastRowSchema = z.object({
  id: z.string(),
  playbook: z.string(),
  params: z.record(z.string(), z.unknown()),
  selector: z.record(z.string(), z.unknown()),
  canary: z.number(),
  batch: z.string(),
  max_failures: z.string(),
  max_concurrency: z.number().nullable(),
  dry_run: z.boolean(),
  offline_ttl_s: z.number(),
  run_timeout_s: z.number(),
  status: z.enum(["running", "paused", "stopped", "cancelled", "completed"]),
  stop_reason: z.string().nullable(),
  targeted: z.number(),
  batch_size: z.number().nullable(),
  summary: z.string().nullable(),
  created_by: z.string(),
  created_at: z.date(),
  updated_at: z.date(),
  finished_at: z.date().nullable(),
});
export type BroadcastRow = z.infer<typeof broadcastRowSchema>;

export const broadcastHostSchema = z.object({
  host: z.string(),
  state: z.string(),
  wave: z.number().nullable(),
  position: z.number().nullable(),
  released_at: z.date().nullable(),
  run_id: z.string().nullable(),
  summary: z.string().nullable(),
  exit_code: z.coerce.number().nullable(),
  error_line: z.string().nullable(),
});
export type BroadcastHost = z.infer<typeof broadcastHostSchema>;

export interface BroadcastDetail extends BroadcastRow {
  states: Record<string, number>;
  current_wave: number | null;
  hosts: BroadcastHost[];
}

export const broadcastQueries = {
  insert: {
    sql: `insert into ccm.broadcasts (playbook, params, selector, canary, batch, max_failures, max_concurrency, dry_run,
                                      offline_ttl_s, run_timeout_s, created_by)
          values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) returning id`,
    schema: z.object({ id: z.string() }),
  },
  row: { sql: `select * from ccm.broadcasts where id = $1`, schema: broadcastRowSchema },
  list: { sql: `select * from ccm.broadcasts order by created_at desc limit $1`, schema: broadcastRowSchema },
  resolve: { sql: `select id from ccm.broadcasts where id::text like $1 || '%' limit 2`, schema: z.object({ id: z.string() }) },
  progress: {
    sql: `select ccm.broadcast_progress($1) as v`,
    schema: z.object({ v: z.object({ targeted: z.number(), states: z.record(z.string(), z.number()), current_wave: z.number().nullable() }) }),
  },
  hosts: {
    // Per host: the task's state and its latest run's result (exit code and error line from the playbook).
    sql: `select t.host, t.status as state, t.broadcast_wave as wave, t.broadcast_position as position, t.released_at,
                 r.id as run_id, coalesce(r.summary, t.summary) as summary,
                 (r.result ->> 'exit_code') as exit_code, nullif(r.result ->> 'error_line', '') as error_line
            from ccm.tasks t
            left join lateral (select x.* from ccm.runs x where x.task_id = t.id order by x.created_at desc limit 1) r on true
           where t.broadcast_id = $1
           order by t.broadcast_position nulls last, lower(t.host)`,
    schema: broadcastHostSchema,
  },
} as const;

/** The database refused the broadcast (bad selector, unknown playbook, nothing matched, ad-hoc command). */
export class BroadcastRejectedError extends Error {
  override readonly name = "BroadcastRejectedError";
}
export class BroadcastNotFoundError extends Error {
  override readonly name = "BroadcastNotFoundError";
}
/** The action does not fit the broadcast's state (resume a running one, pause a finished one). */
export class BroadcastStateError extends Error {
  override readonly name = "BroadcastStateError";
}

export function mapError(err: unknown): unknown {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === "22023" || code === "22P02") return new BroadcastRejectedError(message, { cause: err });
  if (code === "P0002") return new BroadcastNotFoundError(message, { cause: err });
  if (code === "55000") return new BroadcastStateError(message, { cause: err });
  return classifyDatabaseError(err);
}

async function query(pool: pg.Pool, sql: string, params: unknown[]): Promise<Record<string, unknown>[]> {
  try {
    return (await pool.query(sql, params)).rows;
  } catch (err) {
    throw mapError(err);
  }
}

/** Insert a broadcast; the database validates it, fans it out and releases the first wave. */
export async function createBroadcast(pool: pg.Pool, spec: BroadcastSpec): Promise<BroadcastRow> {
  const s = broadcastSpecSchema.parse(spec);
  const [row] = await query(pool, broadcastQueries.insert.sql, [
    s.playbook,
    JSON.stringify(s.params),
    JSON.stringify(s.selector),
    s.canary,
    s.batch,
    s.max_failures,
    s.max_concurrency,
    s.dry_run,
    s.offline_ttl_s,
    s.run_timeout_s,
    s.created_by,
  ]);
  const { id } = broadcastQueries.insert.schema.parse(row);
  return getBroadcastRow(pool, id);
}

async function getBroadcastRow(pool: pg.Pool, id: string): Promise<BroadcastRow> {
  const [row] = await query(pool, broadcastQueries.row.sql, [id]);
  if (!row) throw new BroadcastNotFoundError(`no broadcast ${id}`);
  return broadcastRowSchema.parse(row);
}

/** A full id or a unique prefix (as printed by `ccm broadcast list`). */
export async function resolveBroadcastId(pool: pg.Pool, idOrPrefix: string): Promise<string> {
  if (!/^[0-9a-f-]{4,36}$/i.test(idOrPrefix)) throw new BroadcastNotFoundError(`not a broadcast id: ${JSON.stringify(idOrPrefix.slice(0, 60))}`);
  const rows = await query(pool, broadcastQueries.resolve.sql, [idOrPrefix.toLowerCase()]);
  if (rows.length === 0) throw new BroadcastNotFoundError(`no broadcast ${idOrPrefix}`);
  if (rows.length > 1) throw new BroadcastNotFoundError(`${idOrPrefix} matches several broadcasts; give more of the id`);
  return String(rows[0]?.id);
}

export async function getBroadcast(pool: pg.Pool, idOrPrefix: string): Promise<BroadcastDetail> {
  const id = await resolveBroadcastId(pool, idOrPrefix);
  const row = await getBroadcastRow(pool, id);
  const [p] = await query(pool, broadcastQueries.progress.sql, [id]);
  const progress = broadcastQueries.progress.schema.parse(p).v;
  const hosts = (await query(pool, broadcastQueries.hosts.sql, [id])).map((h) => broadcastHostSchema.parse(h));
  return { ...row, states: progress.states, current_wave: progress.current_wave, hosts };
}

export async function listBroadcasts(pool: pg.Pool, limit = 20): Promise<BroadcastRow[]> {
  return (await query(pool, broadcastQueries.list.sql, [limit])).map((r) => broadcastRowSchema.parse(r));
}

export type BroadcastAction = "pause" | "resume" | "cancel";

/** pause | resume | cancel; returns the broadcast's status afterwards. */
export async function controlBroadcast(pool: pg.Pool, idOrPrefix: string, action: BroadcastAction, by: string, reason?: string): Promise<string> {
  const id = await resolveBroadcastId(pool, idOrPrefix);
  const sql =
    action === "resume" ? "select ccm.resume_broadcast($1, $2) as v" : `select ccm.${action}_broadcast($1, $2, $3) as v`;
  const params = action === "resume" ? [id, by] : [id, by, reason ?? null];
  const [row] = await query(pool, sql, params);
  return String(row?.v);
}

/** One rollout step of every unfinished broadcast (the hub calls this every second). */
export async function advanceBroadcasts(pool: pg.Pool): Promise<{ broadcast_id: string; status: string }[]> {
  const rows = await query(pool, "select * from ccm.advance_broadcasts()", []);
  return rows.map((r) => ({ broadcast_id: String(r.broadcast_id), status: String(r.status) }));
}
