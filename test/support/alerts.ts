/** An Alertmanager v4 webhook body as Alertmanager sends it (see docs/sources.md). */
export function alertmanagerPayload(
  alerts: Array<{
    status?: "firing" | "resolved";
    labels: Record<string, string>;
    annotations?: Record<string, string>;
    startsAt?: string;
    endsAt?: string;
    fingerprint?: string;
  }>,
  status: "firing" | "resolved" = "firing",
) {
  return {
    version: "4",
    groupKey: '{}:{alertname="Test"}',
    truncatedAlerts: 0,
    status,
    receiver: "ccm",
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: "http://alertmanager.test:9093",
    alerts: alerts.map((a) => ({
      status: a.status ?? status,
      labels: a.labels,
      annotations: a.annotations ?? {},
      startsAt: a.startsAt ?? "2026-11-23T02:00:00Z",
      endsAt: a.endsAt ?? "0001-01-01T00:00:00Z",
      generatorURL: "http://prometheus.test:9090/graph",
      ...(a.fingerprint ? { fingerprint: a.fingerprint } : {}),
    })),
  };
}

/** The hub's 200 answer to a webhook, and its 4xx/5xx error body. */
export interface WebhookAnswer {
  status: string;
  error?: string;
  details?: Array<{ path: string; message: string }>;
  alerts: Array<{ alert_id: number; task_id: string; outcome: string; host: string | null }>;
}

export async function answer(res: Response): Promise<WebhookAnswer> {
  return (await res.json()) as WebhookAnswer;
}
