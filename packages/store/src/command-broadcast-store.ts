import { randomUUID } from "node:crypto";
import { z } from "zod";
import { broadcastRowSchema, broadcastSpecSchema, BroadcastRejectedError, mapError, rolloutArgs, type BroadcastRow, type BroadcastSpec } from "./broadcast-store.ts";
import { toDb, type Db, type DbLike } from "./db.ts";
import { refusalMessage } from "./refusal.ts";

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

/** ccm.op_command_targets and ccm.op_create_command_broadcast, next to what they return. */
export const commandBroadcastQueries = {
  targets: { fn: "op_command_targets", schema: z.array(z.object({ agent_id: z.string(), host: z.string(), offers: z.boolean() })) },
  create: { fn: "op_create_command_broadcast", schema: broadcastRowSchema.extend({ signed: z.number() }) },
} as const;

// SQLSTATE of "the selector matched other hosts by the time the signed tasks arrived".
const TARGETS_CHANGED = "40001";

/**
 * Create a `command` broadcast whose every released task is signed from its first moment, in two
 * calls and no open transaction (so it works over PostgREST too): ask which agents the selector
 * targets now, pick each offering host's task id here and `sign` it (the task id is what the
 * signature covers), then hand the broadcast and the signed tasks to the database in one call,
 * which creates them atomically or refuses when the matching hosts changed meanwhile (then this
 * signs afresh, up to `attempts` times). Hosts that do not offer `command` are skipped unsigned.
 */
export async function createCommandBroadcast(
  x: DbLike,
  spec: Omit<BroadcastSpec, "playbook" | "params">,
  command: BroadcastCommand,
  sign: (target: CommandTarget) => unknown,
  options: { attempts?: number } = {},
): Promise<BroadcastRow & { signed: number }> {
  const s = broadcastSpecSchema.parse({ ...spec, playbook: "command", params: {} });
  const c = broadcastCommandSchema.parse(command);
  const db = toDb(x);
  const attempts = options.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    const tasks = await signedTasks(db, s.selector, sign);
    try {
      const row = await db.call(commandBroadcastQueries.create.fn, { ...rolloutArgs(s), p_command: c, p_tasks: tasks });
      return commandBroadcastQueries.create.schema.parse(row);
    } catch (err) {
      if ((err as { code?: unknown }).code !== TARGETS_CHANGED) throw mapError(err);
      if (attempt >= attempts) throw new BroadcastRejectedError(refusalMessage(err), { cause: err });
    }
  }
}

/** One task id and signature per agent that offers `command` and matches the selector now. */
async function signedTasks(db: Db, selector: unknown, sign: (target: CommandTarget) => unknown) {
  let targets: z.infer<typeof commandBroadcastQueries.targets.schema>;
  try {
    targets = commandBroadcastQueries.targets.schema.parse(await db.call(commandBroadcastQueries.targets.fn, { p_selector: selector }));
  } catch (err) {
    throw mapError(err);
  }
  return targets
    .filter((t) => t.offers)
    .map((t) => {
      const task_id = randomUUID();
      return { agent_id: t.agent_id, host: t.host, task_id, command: sign({ task_id, host: t.host }) };
    });
}
