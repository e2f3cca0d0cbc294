import { z } from "zod";
import { toDb, type DbLike } from "./db.ts";
import { classifyDatabaseError } from "./errors.ts";
import { isoDate } from "./iso-date.ts";
import { refusalMessage } from "./refusal.ts";

// Fleet broadcasts (issue 5): create (ccm.op_create_broadcast: an INSERT the database validates and
// expands), read progress, and the operator actions. The rollout itself is ccm.advance_broadcast in SQL.

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
  created_at: isoDate,
  updated_at: isoDate,
  finished_at: isoDate.nullable(),
});
export type BroadcastRow = z.infer<typeof broadcastRowSchema>;

export const broadcastHostSchema = z.object({
  host: z.string(),
  state: z.string(),
  wave: z.number().nullable(),
  position: z.number().nullable(),
  released_at: isoDate.nullable(),
  run_id: z.string().nullable(),
  summary: z.string().nullable(),
  exit_code: z.coerce.number().nullable(),
  error_line: z.string().nullable(),
});
export type BroadcastHost = z.infer<typeof broadcastHostSchema>;

const detailSchema = broadcastRowSchema.extend({
  states: z.record(z.string(), z.number()),
  current_wave: z.number().nullable(),
  hosts: z.array(broadcastHostSchema),
});
export type BroadcastDetail = z.infer<typeof detailSchema>;

/** The ccm.op_* functions behind each call, next to the schema of what they return. */
export const broadcastQueries = {
  create: { fn: "op_create_broadcast", schema: broadcastRowSchema },
  list: { fn: "op_list_broadcasts", schema: z.array(broadcastRowSchema) },
  detail: { fn: "op_broadcast_detail", schema: z.object({ matches: z.number(), broadcast: detailSchema.nullable() }) },
  control: { fn: "op_control_broadcast", schema: z.string() },
  advance: { fn: "advance_broadcasts", schema: z.array(z.object({ broadcast_id: z.string(), status: z.string() })) },
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

/** The database's refusals as the errors above (SQLSTATE 22023/22P02, P0002, 55000); the message is the database's own. */
export function mapError(err: unknown): unknown {
  const code = (err as { code?: unknown }).code;
  if (code === "22023" || code === "22P02") return new BroadcastRejectedError(refusalMessage(err), { cause: err });
  if (code === "P0002") return new BroadcastNotFoundError(refusalMessage(err), { cause: err });
  if (code === "55000") return new BroadcastStateError(refusalMessage(err), { cause: err });
  return classifyDatabaseError(err);
}

async function call(db: DbLike, fn: string, args: Record<string, unknown> = {}): Promise<unknown> {
  try {
    return await toDb(db).call(fn, args);
  } catch (err) {
    throw mapError(err);
  }
}

/** Create a broadcast; the database validates it, fans it out and releases the first wave. */
export async function createBroadcast(db: DbLike, spec: BroadcastSpec): Promise<BroadcastRow> {
  const s = broadcastSpecSchema.parse(spec);
  const row = await call(db, broadcastQueries.create.fn, { p_playbook: s.playbook, p_params: s.params, ...rolloutArgs(s) });
  return broadcastQueries.create.schema.parse(row);
}

/** The selector and rollout options as the op_create_*broadcast functions take them. */
export function rolloutArgs(s: z.output<typeof broadcastSpecSchema>): Record<string, unknown> {
  return {
    p_selector: s.selector,
    p_created_by: s.created_by,
    p_canary: s.canary,
    p_batch: s.batch,
    p_max_failures: s.max_failures,
    p_max_concurrency: s.max_concurrency,
    p_dry_run: s.dry_run,
    p_offline_ttl_s: s.offline_ttl_s,
    p_run_timeout_s: s.run_timeout_s,
  };
}

export async function getBroadcast(db: DbLike, idOrPrefix: string): Promise<BroadcastDetail> {
  if (!/^[0-9a-f-]{4,36}$/i.test(idOrPrefix)) throw new BroadcastNotFoundError(`not a broadcast id: ${JSON.stringify(idOrPrefix.slice(0, 60))}`);
  const found = broadcastQueries.detail.schema.parse(await call(db, broadcastQueries.detail.fn, { p_id: idOrPrefix.toLowerCase() }));
  if (found.matches > 1) throw new BroadcastNotFoundError(`${idOrPrefix} matches several broadcasts; give more of the id`);
  if (!found.broadcast) throw new BroadcastNotFoundError(`no broadcast ${idOrPrefix}`);
  return found.broadcast;
}

export async function listBroadcasts(db: DbLike, limit = 20): Promise<BroadcastRow[]> {
  return broadcastQueries.list.schema.parse(await call(db, broadcastQueries.list.fn, { p_limit: limit }));
}

export type BroadcastAction = "pause" | "resume" | "cancel";

/** pause | resume | cancel (id or unique prefix); returns the broadcast's status afterwards. */
export async function controlBroadcast(db: DbLike, idOrPrefix: string, action: BroadcastAction, by: string, reason?: string): Promise<string> {
  if (!/^[0-9a-f-]{4,36}$/i.test(idOrPrefix)) throw new BroadcastNotFoundError(`not a broadcast id: ${JSON.stringify(idOrPrefix.slice(0, 60))}`);
  const status = await call(db, broadcastQueries.control.fn, { p_id: idOrPrefix.toLowerCase(), p_action: action, p_by: by, p_reason: reason ?? null });
  return broadcastQueries.control.schema.parse(status);
}

/** One rollout step of every unfinished broadcast (the hub calls this every second). */
export async function advanceBroadcasts(db: DbLike): Promise<{ broadcast_id: string; status: string }[]> {
  return broadcastQueries.advance.schema.parse(await call(db, broadcastQueries.advance.fn));
}
