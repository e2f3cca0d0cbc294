import { z } from "zod";
import type pg from "pg";
import { classifyDatabaseError } from "./errors.ts";

// Each query sits next to the schema of the rows it returns.

const taskRow = z.object({
  id: z.string(),
  status: z.string(),
  host: z.string().nullable(),
  source: z.string(),
  alertname: z.string().nullable(),
  summary: z.string().nullable(),
  alert_count: z.number(),
  created_at: z.date(),
  updated_at: z.date(),
  resolved_at: z.date().nullable(),
});
export type TaskRow = z.infer<typeof taskRow>;

export const listTasksQuery = {
  sql: `select id, status, host, source, alertname, summary, alert_count, created_at, updated_at, resolved_at
          from ccm.tasks
         where ($1::text is null or status = $1)
           and ($2::text is null or lower(host) = lower($2))
         order by created_at desc
         limit $3`,
  schema: taskRow,
};

const taskDetailRow = taskRow.extend({
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()),
  fingerprint: z.string().nullable(),
  starts_at: z.date().nullable(),
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
  claimed_at: z.date().nullable(),
  started_at: z.date().nullable(),
  finished_at: z.date().nullable(),
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
  started_at: z.date(),
  finished_at: z.date().nullable(),
});

export const taskDetailQueries = {
  task: {
    sql: `select id, status, host, source, alertname, summary, alert_count, created_at, updated_at, resolved_at,
                 labels, annotations, fingerprint, starts_at
            from ccm.tasks where id::text like $1 || '%' order by created_at desc limit 2`,
    schema: taskDetailRow,
  },
  runs: {
    sql: `select r.id, r.task_id, r.status, a.host as agent_host, r.attempt, r.playbook, r.dry_run, r.summary, r.error,
                 r.result, r.claimed_at, r.started_at, r.finished_at
            from ccm.runs r join ccm.agents a on a.id = r.agent_id
           where r.task_id = $1 order by r.created_at`,
    schema: runRow,
  },
  steps: {
    sql: `select s.run_id, s.seq, s.phase, s.action, s.args, s.status, s.detail, s.data, s.exit_code, s.duration_ms,
                 s.started_at, s.finished_at
            from ccm.run_steps s join ccm.runs r on r.id = s.run_id
           where r.task_id = $1 order by s.run_id, s.seq`,
    schema: stepRow,
  },
};

export type TaskDetail = z.infer<typeof taskDetailRow> & {
  runs: Array<z.infer<typeof runRow> & { steps: Array<z.infer<typeof stepRow>> }>;
};

export async function listTasks(
  pool: pg.Pool,
  filter: { status?: string; host?: string; limit?: number } = {},
): Promise<TaskRow[]> {
  try {
    const { rows } = await pool.query(listTasksQuery.sql, [filter.status ?? null, filter.host ?? null, filter.limit ?? 50]);
    return rows.map((r) => listTasksQuery.schema.parse(r));
  } catch (err) {
    throw classifyDatabaseError(err);
  }
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
export async function getTask(pool: pg.Pool, id: string): Promise<TaskDetail> {
  if (!/^[0-9a-f-]{4,36}$/i.test(id)) throw new TaskNotFoundError(id);
  try {
    const found = await pool.query(taskDetailQueries.task.sql, [id.toLowerCase()]);
    if (found.rows.length === 0) throw new TaskNotFoundError(id);
    if (found.rows.length > 1) throw new TaskNotFoundError(id, true);
    const task = taskDetailQueries.task.schema.parse(found.rows[0]);
    const [runs, steps] = await Promise.all([
      pool.query(taskDetailQueries.runs.sql, [task.id]),
      pool.query(taskDetailQueries.steps.sql, [task.id]),
    ]);
    const parsedSteps = steps.rows.map((s) => taskDetailQueries.steps.schema.parse(s));
    return {
      ...task,
      runs: runs.rows.map((r) => {
        const run = taskDetailQueries.runs.schema.parse(r);
        return { ...run, steps: parsedSteps.filter((s) => s.run_id === run.id) };
      }),
    };
  } catch (err) {
    throw classifyDatabaseError(err);
  }
}
