import http from "node:http";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** The agent's Prometheus metrics. */
export function createAgentMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "ccm_agent_" });
  return {
    registry,
    claims: new Counter({
      name: "ccm_agent_claims_total",
      help: "Claim attempts by result (claimed, empty, error)",
      labelNames: ["result"] as const,
      registers: [registry],
    }),
    runs: new Counter({
      name: "ccm_agent_runs_total",
      help: "Runs finished by playbook and final status",
      labelNames: ["playbook", "status"] as const,
      registers: [registry],
    }),
    runSeconds: new Histogram({
      name: "ccm_agent_run_duration_seconds",
      help: "Playbook run duration",
      labelNames: ["playbook"] as const,
      buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
      registers: [registry],
    }),
    inFlight: new Gauge({ name: "ccm_agent_runs_in_flight", help: "Runs being worked now", registers: [registry] }),
    databaseUp: new Gauge({
      name: "ccm_agent_database_up",
      help: "1 when the last claim or heartbeat reached the database",
      registers: [registry],
    }),
    lastHeartbeat: new Gauge({
      name: "ccm_agent_last_heartbeat_timestamp_seconds",
      help: "Unix time of the last heartbeat the database accepted",
      registers: [registry],
    }),
  };
}

export type AgentMetrics = ReturnType<typeof createAgentMetrics>;

/** GET /metrics (and /healthz) on host:port; port 0 disables it. */
export async function serveAgentMetrics(
  metrics: AgentMetrics,
  host: string,
  port: number,
): Promise<{ port: number; close(): Promise<void> } | null> {
  if (port === 0) return null;
  const server = http.createServer((req, res) => {
    if (req.url === "/metrics") {
      metrics.registry
        .metrics()
        .then((body) => {
          res.writeHead(200, { "content-type": metrics.registry.contentType });
          res.end(body);
        })
        .catch(() => {
          res.writeHead(500);
          res.end();
        });
    } else if (req.url === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok\n");
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
