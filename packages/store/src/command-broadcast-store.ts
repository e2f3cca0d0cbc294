import { randomUUID } from "node:crypto";
import { z } from "zod";
import { broadcastRowSchema, broadcastSpecSchema, BroadcastRejectedError, mapError, rolloutArgs, type BroadcastRow, type BroadcastSpec } from "./broadcast-store.ts";
import { toDb, type DbLike } from "./db.ts";
import { refusalMessage } from "./refusal.ts";

/** What the operator asked for, stored unsigned on the broadcast (for display); each host's task carries its own signature. */
export const broadcastCommandSchema = z.object({
  argv: z.array(z.string().max(4096)).min(1).max(256),
  expires_at: z.string(),
  key_id: z.string(),
});
export type BroadcastCommand = z.infer<typeof broadcastCommandSchema>;

/** What a signature covers besides argv and expiry: the task id picked for a host, and that host. */
export interface CommandTarget {
  task_id: string;
  host: string;
}

/** An agent the selector matches now; only those that offer `command` get a signed task. */
export const commandTargetAgentSchema = z.object({ agent_id: z.string(), host: z.string(), offers: z.boolean() });
export type CommandTargetAgent = z.infer<typeof commandTargetAgentSchema>;

/**
 * One host's task as the signer hands it in: the task id it picked and the signed command
 * (packages/security's SignedCommand; the database checks it names this task, host, argv and key).
 */
export const signedCommandTaskSchema = z.object({
  agent_id: z.uuid(),
  host: z.string().min(1).max(253),
  task_id: z.uuid(),
  command: z.record(z.string(), z.unknown()),
});
export type SignedCommandTask = z.infer<typeof signedCommandTaskSchema>;

/** ccm.op_command_targets and ccm.op_create_command_broadcast, next to what they return. */
export const commandBroadcastQueries = {
  targets: { fn: "op_command_targets", schema: z.array(commandTargetAgentSchema) },
  create: { fn: "op_create_command_broadcast", schema: broadcastRowSchema.extend({ signed: z.number() }) },
} as const;

// SQLSTATE of "the selector matched other hosts by the time the signed tasks arrived".
const TARGETS_CHANGED = "40001";

/** The hosts the selector matches changed between signing and creating: sign afresh for the new targets. */
export class CommandTargetsChangedError extends Error {
  override readonly name = "CommandTargetsChangedError";
}

/** Phase 1: the agents a broadcast with this selector would target now, and whether each offers `command`. */
export async function commandTargets(x: DbLike, selector: unknown): Promise<CommandTargetAgent[]> {
  try {
    return commandBroadcastQueries.targets.schema.parse(await toDb(x).call(commandBroadcastQueries.targets.fn, { p_selector: selector }));
  } catch (err) {
    throw mapError(err);
  }
}

/**
 * Phase 2, one attempt: create the `command` broadcast with tasks signed elsewhere (the CLI, or a
 * caller of the hub API holding the key), atomically. Refusals: BroadcastRejectedError when a
 * signature names another task, host, argv or key; CommandTargetsChangedError when the selector
 * no longer matches exactly the signed hosts (nothing is created then).
 */
export async function createSignedCommandBroadcast(
  x: DbLike,
  spec: Omit<BroadcastSpec, "playbook" | "params">,
  command: BroadcastCommand,
  signedTasks: SignedCommandTask[],
): Promise<BroadcastRow & { signed: number }> {
  const s = broadcastSpecSchema.parse({ ...spec, playbook: "command", params: {} });
  const c = broadcastCommandSchema.parse(command);
  let row: unknown;
  try {
    row = await toDb(x).call(commandBroadcastQueries.create.fn, { ...rolloutArgs(s), p_command: c, p_tasks: signedTasks });
  } catch (err) {
    if ((err as { code?: unknown }).code === TARGETS_CHANGED) throw new CommandTargetsChangedError(refusalMessage(err), { cause: err });
    throw mapError(err);
  }
  return commandBroadcastQueries.create.schema.parse(row);
}

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
    const tasks = (await commandTargets(db, s.selector))
      .filter((t) => t.offers)
      .map((t) => {
        const task_id = randomUUID();
        return { agent_id: t.agent_id, host: t.host, task_id, command: sign({ task_id, host: t.host }) as Record<string, unknown> };
      });
    try {
      return await createSignedCommandBroadcast(db, s, c, tasks);
    } catch (err) {
      if (!(err instanceof CommandTargetsChangedError)) throw err;
      if (attempt >= attempts) throw new BroadcastRejectedError(err.message, { cause: err.cause });
    }
  }
}
