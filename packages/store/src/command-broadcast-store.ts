import type pg from "pg";
import { z } from "zod";
import { broadcastQueries, broadcastRowSchema, broadcastSpecSchema, mapError, type BroadcastRow, type BroadcastSpec } from "./broadcast-store.ts";

/** What the operator asked for, stored unsigned on the broadcast (for display); each host's task carries its own signature. */
export const broadcastCommandSchema = z.object({
  argv: z.array(z.string().max(4096)).min(1).max(256),
  expires_at: z.string(),
  key_id: z.string(),
});
export type BroadcastCommand = z.infer<typeof broadcastCommandSchema>;

export interface CommandTarget {
  task_id: string;
  host: string;
}

/**
 * Create a `command` broadcast and sign every host's task before anyone can claim it: the INSERT
 * (fan-out, first wave released), the signing and the UPDATE of ccm.tasks.command share one
 * transaction, so agents only ever see released runs that already carry their signature.
 * `sign` gets each task (its id is what the signature covers) and returns the signed command.
 */
export async function createCommandBroadcast(
  pool: pg.Pool,
  spec: Omit<BroadcastSpec, "playbook" | "params">,
  command: BroadcastCommand,
  sign: (target: CommandTarget) => unknown,
): Promise<BroadcastRow & { signed: number }> {
  const s = broadcastSpecSchema.parse({ ...spec, playbook: "command", params: {} });
  const c = broadcastCommandSchema.parse(command);
  const client = await pool.connect();
  try {
    await client.query("begin");
    const { rows } = await client.query(
      `insert into ccm.broadcasts (playbook, params, selector, canary, batch, max_failures, max_concurrency, dry_run,
                                   offline_ttl_s, run_timeout_s, created_by, command)
       values ('command', '{}', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning id`,
      [JSON.stringify(s.selector), s.canary, s.batch, s.max_failures, s.max_concurrency, s.dry_run, s.offline_ttl_s, s.run_timeout_s, s.created_by, JSON.stringify(c)],
    );
    const id = z.object({ id: z.string() }).parse(rows[0]).id;
    // Skipped hosts (agent does not offer `command`: it trusts no key) get no signature.
    const targets = await client.query<CommandTarget>(
      "select id as task_id, host from ccm.tasks where broadcast_id = $1 and status <> 'skipped' order by broadcast_position",
      [id],
    );
    for (const t of targets.rows) {
      await client.query("update ccm.tasks set command = $2, updated_at = now() where id = $1", [t.task_id, JSON.stringify(sign(t))]);
    }
    await client.query("commit");
    const row = await client.query(broadcastQueries.row.sql, [id]);
    return { ...broadcastRowSchema.parse(row.rows[0]), signed: targets.rows.length };
  } catch (err) {
    await client.query("rollback").catch(() => undefined);
    throw mapError(err);
  } finally {
    client.release();
  }
}
