const STARTS_AT = "2026-11-23T02:00:00Z";

/**
 * An Alertmanager v4 webhook body with `count` firing alerts, each with its own fingerprint
 * (`<tag>-<seq>-<i>`); hosts are picked round-robin. Without `alertname`, each alert also gets its
 * own alertname (`BenchAlert-<tag>-<seq>-<i>`): storm control groups by alertname + host, so
 * this is what makes every alert a new task (and no fleet-wide storm incident).
 */
export function webhookBody(tag: string, seq: number, count: number, hosts: readonly string[], alertname?: string): string {
  const alerts = [];
  for (let i = 0; i < count; i++) {
    const host = hosts[(seq * count + i) % hosts.length] ?? "bench-host";
    alerts.push({
      status: "firing",
      labels: { alertname: alertname ?? `BenchAlert-${tag}-${seq}-${i}`, host, severity: "warning", instance: `${host}:9100` },
      annotations: { summary: `bench alert ${seq}-${i}` },
      startsAt: STARTS_AT,
      endsAt: "0001-01-01T00:00:00Z",
      generatorURL: "http://prometheus.bench:9090/graph",
      fingerprint: `${tag}-${seq}-${i}`,
    });
  }
  const common = alertname ? { alertname } : {};
  return JSON.stringify({
    version: "4",
    groupKey: `{}:{alertname="${alertname ?? "BenchAlert"}"}`,
    truncatedAlerts: 0,
    status: "firing",
    receiver: "ccm",
    groupLabels: common,
    commonLabels: common,
    commonAnnotations: {},
    externalURL: "http://alertmanager.bench:9093",
    alerts,
  });
}
