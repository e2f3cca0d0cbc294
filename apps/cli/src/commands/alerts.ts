import { AlertNotFoundError, getAlert, listAlerts, type AlertDetail, type AlertRow } from "@ccm/store";
import { parse, UsageError } from "../args.ts";
import { resolveDb } from "../database.ts";
import { formatTime } from "../format-time.ts";

/** `ccm alerts list|show`: what arrived from each source, and what it became. */
export async function alertsCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parse(rest, {
    json: { type: "boolean", default: false },
    source: { type: "string" },
    host: { type: "string" },
    status: { type: "string" },
    limit: { type: "string", default: "50" },
  });
  if (sub !== "list" && sub !== "show") throw new UsageError(`unknown alerts command ${sub ?? "(none)"}; try: ccm alerts list | ccm alerts show <id>`);
  if (sub === "show" && !positionals[0]) throw new UsageError("ccm alerts show <id>: the alert id is required (see ccm alerts list)");
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError("--limit must be a positive integer");
  if (values.status && values.status !== "firing" && values.status !== "resolved") throw new UsageError("--status must be firing or resolved");

  const db = await resolveDb(env);
  try {
    if (sub === "list") {
      const alerts = await listAlerts(db, { source: values.source, host: values.host, status: values.status, limit });
      console.log(values.json ? JSON.stringify(alerts, null, 2) : formatAlertList(alerts));
    } else {
      const alert = await getAlert(db, positionals[0] as string);
      console.log(values.json ? JSON.stringify(alert, null, 2) : formatAlert(alert));
    }
  } catch (err) {
    if (!(err instanceof AlertNotFoundError)) throw err;
    console.error(`ccm: ${err.message}`);
    process.exitCode = 1;
  } finally {
    await db.close();
  }
}

export function formatAlertList(alerts: AlertRow[]): string {
  if (alerts.length === 0) return "no alerts";
  const rows = alerts.map((a) => [
    String(a.id),
    formatTime(a.received_at),
    a.source,
    a.status,
    a.host ?? "-",
    a.alertname ?? "-",
    a.outcome + (a.receive_count > 1 ? ` (x${a.receive_count})` : ""),
    a.task_id ? `${a.task_id.slice(0, 8)} ${a.task_status ?? ""}` : "-",
  ]);
  const head = ["ID", "RECEIVED (UTC)", "SOURCE", "STATUS", "HOST", "ALERT", "OUTCOME", "TASK"];
  const widths = head.map((h, i) => Math.min(40, Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length))));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.slice(0, widths[i]).padEnd(widths[i] ?? 0))).join("  ");
  return [line(head), ...rows.map(line)].join("\n");
}

export function formatAlert(a: AlertDetail): string {
  const raw = JSON.stringify(a.raw, null, 2);
  const out = [
    `alert ${a.id}  ${a.status}  from ${a.source}`,
    `  name:      ${a.alertname ?? "-"}   host: ${a.host ?? "-"}`,
    `  received:  ${formatTime(a.received_at)}   last: ${formatTime(a.last_received_at)}   deliveries: ${a.receive_count}`,
    `  starts:    ${formatTime(a.starts_at)}   ends: ${formatTime(a.ends_at)}`,
    `  outcome:   ${a.outcome}`,
    a.task_id
      ? `  task:      ${a.task_id}  ${a.task_status ?? ""}${a.task_flapping ? " (flapping)" : ""}  absorbed ${a.task_alert_count ?? 0} alert(s)` +
        `${a.task_summary ? ` — ${a.task_summary}` : ""}`
      : "  task:      none",
  ];
  if (a.incident_id) out.push(`  incident:  ${a.incident_id}  ${a.incident_status ?? ""}  fleet-wide on ${a.incident_host_count ?? 0} hosts`);
  out.push(`  labels:    ${JSON.stringify(a.labels)}`);
  if (Object.keys(a.annotations).length > 0) out.push(`  annotations: ${JSON.stringify(a.annotations)}`);
  out.push(`  raw${a.raw_truncated ? " (truncated: only the head was kept)" : ""}:`);
  out.push(...raw.split("\n").slice(0, 200).map((l) => `    ${l}`));
  return out.join("\n");
}
