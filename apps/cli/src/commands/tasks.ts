import { getTask, listTasks, type TaskDetail, type TaskRow } from "@ccm/store";
import { parse, UsageError } from "../args.ts";
import { resolveDb } from "../database.ts";
import { formatTime } from "../format-time.ts";

export async function tasksCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parse(rest, {
    json: { type: "boolean", default: false },
    status: { type: "string" },
    host: { type: "string" },
    limit: { type: "string", default: "50" },
  });
  if (sub !== "list" && sub !== "show") throw new UsageError(`unknown tasks command ${sub ?? "(none)"}; try: ccm tasks list | ccm tasks show <id>`);
  if (sub === "show" && !positionals[0]) throw new UsageError("ccm tasks show <id>: the task id (or a unique prefix) is required");
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError("--limit must be a positive integer");

  const db = await resolveDb(env);
  try {
    if (sub === "list") {
      const tasks = await listTasks(db, { status: values.status, host: values.host, limit });
      console.log(values.json ? JSON.stringify(tasks, null, 2) : formatTaskList(tasks));
    } else {
      const task = await getTask(db, positionals[0] as string);
      console.log(values.json ? JSON.stringify(task, null, 2) : formatTask(task));
    }
  } finally {
    await db.close();
  }
}

export function formatTaskList(tasks: TaskRow[]): string {
  if (tasks.length === 0) return "no tasks";
  const rows = tasks.map((t) => [t.id.slice(0, 8), t.status, t.host ?? "-", t.source, t.alertname ?? "-", formatTime(t.created_at), t.summary ?? ""]);
  const head = ["ID", "STATUS", "HOST", "SOURCE", "ALERT", "CREATED (UTC)", "SUMMARY"];
  const widths = head.map((h, i) => Math.min(40, Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length))));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.slice(0, widths[i]).padEnd(widths[i] ?? 0))).join("  ");
  return [line(head), ...rows.map(line)].join("\n");
}

export function formatTask(t: TaskDetail): string {
  const out = [
    `task ${t.id}`,
    `  status:   ${t.status}${t.summary ? ` — ${t.summary}` : ""}`,
    `  host:     ${t.host ?? "-"}`,
    `  source:   ${t.source}   alert: ${t.alertname ?? "-"}   deliveries: ${t.alert_count}`,
    `  created:  ${formatTime(t.created_at)}   resolved: ${formatTime(t.resolved_at)}`,
  ];
  if (t.runs.length === 0) out.push("  runs:     none (no agent has this host)");
  for (const r of t.runs) {
    out.push(
      `  run ${r.id.slice(0, 8)}  attempt ${r.attempt}  ${r.status}  on ${r.agent_host}` +
        `${r.playbook ? `  playbook ${r.playbook}` : ""}${r.dry_run ? "  (dry run)" : ""}`,
    );
    if (r.summary) out.push(`      ${r.summary}`);
    for (const s of r.steps) {
      out.push(`      ${String(s.seq).padStart(3)}. [${s.phase}] ${s.action}  ${s.status}${s.detail ? ` — ${s.detail}` : ""}`);
    }
  }
  return out.join("\n");
}
