// Child process of load.ts: N keep-alive clients posting webhooks for a fixed time.
import http from "node:http";
import { postJson } from "./http-client.ts";
import type { LoadResult, LoadSpec } from "./load.ts";
import { webhookBody } from "./payload.ts";

async function run(spec: LoadSpec): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.concurrency });
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const from = start + spec.warmupMs;
  const until = from + spec.durationMs;
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  let firstError: string | undefined;
  let seq = 0;

  const client = async (): Promise<void> => {
    while (performance.now() < until) {
      const body = webhookBody(spec.tag, seq++, spec.alertsPerRequest, spec.hosts);
      const t0 = performance.now();
      try {
        const res = await postJson(agent, spec.url, body, spec.token);
        const t1 = performance.now();
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        if (res.status !== 200 && !firstError) firstError = `HTTP ${res.status}: ${res.body.slice(0, 300)}`;
        if (t1 >= from && t1 <= until) latencies.push(t1 - t0);
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, client));
  agent.destroy();
  const cpu = process.cpuUsage(cpu0);
  const clientCpuPercent = ((cpu.user + cpu.system) / 1000 / (performance.now() - start)) * 100;
  return { completed: latencies.length, latenciesMs: latencies, windowMs: spec.durationMs, statuses, errors, firstError, clientCpuPercent };
}

process.once("message", (spec) => {
  run(spec as LoadSpec).then(
    (result) => process.send?.(result, () => process.exit(0)),
    (err: unknown) => {
      console.error("load client failed:", err);
      process.exit(1);
    },
  );
});
