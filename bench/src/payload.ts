const STARTS_AT = "2026-11-23T02:00:00Z";

/**
 * An Alertmanager v4 webhook body with `count` firing alerts, each with its own fingerprint
 * (`<tag>-<seq>-<i>`) so every alert becomes a new task; hosts are picked round-robin.
 */
export function webhookBody(tag: string, seq: number, count: number, hosts: readonly string[]): string {
  const alerts = [];
  for (let i = 0; i < count; i++) {
    const host = hosts[(seq * count + i) % hosts.length] ?? "bench-host";
    alerts.push({
      status: "firing",
      labels: { alertname: "BenchAlert", host, severity: "warning", instance: `${host}:9100` },
      annotations: { summary: `bench alert ${seq}-${i}` },
      startsAt: STARTS_AT,
      endsAt: "0001-01-01T00:00:00Z",
      generatorURL: "http://prometheus.bench:9090/graph",
      fingerprint: `${tag}-${seq}-${i}`,
    });
  }
  return JSON.stringify({
    version: "4",
    groupKey: '{}:{alertname="BenchAlert"}',
    truncatedAlerts: 0,
    status: "firing",
    receiver: "ccm",
    groupLabels: { alertname: "BenchAlert" },
    commonLabels: { alertname: "BenchAlert" },
    commonAnnotations: {},
    externalURL: "http://alertmanager.bench:9093",
    alerts,
  });
}
