import { z } from "zod";
import { toDb, type DbLike } from "./db.ts";
import { isoDate } from "./iso-date.ts";

// Each ccm.op_* function sits next to the schema of what it returns (see the operator functions migration).

const taskRow = z.object({
  id: z.string(),
  status: z.string(),
  host: z.string().nullable(),
  source: z.string(),
  alertname: z.string().nullable(),
  summary: z.string().nullable(),
  alert_count: z.number(),
  created_at: isoDate,
  updated_at: isoDate,
  resolved_at: isoDate.nullable(),
});
export type TaskRow = z.infer<typeof taskRow>;

export const listTasksQuery = { fn: "op_list_tasks", schema: z.array(taskRow) };

const taskDetailRow = taskRow.extend({
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()),
  fingerprint: z.string().nullable(),
  starts_at: isoDate.nullable(),
});

const runRow = z.object({
  id: z.string(),
  task_id: z.string(),
  status: z.string(),
  agent_host: z.string(),
  attempt: z.number(),
  playbook: z.string().nullable(),
  dry_run: z.boolean().nullable(),
  summary: z.string().nullable(),
  error: z.string().nullable(),
  result: z.unknown(),
  claimed_at: isoDate.nullable(),
  started_at: isoDate.nullable(),
  finished_at: isoDate.nullable(),
});

const stepRow = z.object({
  run_id: z.string(),
  seq: z.number(),
  phase: z.string(),
  action: z.string(),
  args: z.unknown(),
  status: z.string(),
  detail: z.string().nullable(),
  data: z.unknown(),
  exit_code: z.number().nullable(),
  duration_ms: z.number().nullable(),
  started_at: isoDate,
  finished_at: isoDate.nullable(),
});

const taskDetailSchema = taskDetailRow.extend({ runs: z.array(runRow.extend({ steps: z.array(stepRow) })) });
export type TaskDetail = z.infer<typeof taskDetailSchema>;

/** ccm.op_task_detail: the task by id or unique prefix, its runs (oldest first) and their steps. */
export const taskDetailQueries = {
  fn: "op_task_detail",
  schema: z.object({
    // 2 stands for "two or more": the prefix is ambiguous.
    matches: z.number(),
    task: taskDetailSchema.nullable(),
  }),
};

export async function listTasks(db: DbLike, filter: { status?: string; host?: string; limit?: number } = {}): Promise<TaskRow[]> {
  const rows = await toDb(db).call(listTasksQuery.fn, { p_status: filter.status ?? null, p_host: filter.host ?? null, p_limit: filter.limit ?? 50 });
  return listTasksQuery.schema.parse(rows);
}

export class TaskNotFoundError extends Error {
  override readonly name = "TaskNotFoundError";
  constructor(
    readonly idPrefix: string,
    readonly ambiguous = false,
  ) {
    super(ambiguous ? `task id prefix ${idPrefix} matches more than one task` : `no task with id ${idPrefix}`);
  }
}

/** A task with its runs and their steps. `id` may be a unique prefix of the task id. */
export async function getTask(db: DbLike, id: string): Promise<TaskDetail> {
  if (!/^[0-9a-f-]{4,36}$/i.test(id)) throw new TaskNotFoundError(id);
  const found = taskDetailQueries.schema.parse(await toDb(db).call(taskDetailQueries.fn, { p_id: id.toLowerCase() }));
  if (found.matches > 1) throw new TaskNotFoundError(id, true);
  if (!found.task) throw new TaskNotFoundError(id);
  return found.task;
}
