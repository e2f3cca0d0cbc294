import net from "node:net";
import { describeError, fail, pass, type CheckResult } from "./check-result.ts";

const TITLE = "metrics port free";

/** Listen on CCM_AGENT_METRICS_PORT (default 9464) and close. Held by a running CCM agent counts as fine. */
export async function checkMetricsPort(env: Record<string, string | undefined>): Promise<CheckResult> {
  const raw = env.CCM_AGENT_METRICS_PORT ?? "9464";
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port < 1 || port > 65_535) {
    return fail("metrics-port", TITLE, `CCM_AGENT_METRICS_PORT=${raw} is not a port`, "set CCM_AGENT_METRICS_PORT to 1-65535 in /etc/ccm/agent.env");
  }
  const err = await tryListen(port);
  if (!err) return pass("metrics-port", TITLE, `port ${port} is free`);
  if (err.code === "EADDRINUSE" && (await isCcmMetrics(port))) {
    return pass("metrics-port", TITLE, `port ${port} is held by a running CCM agent (its /metrics answers)`);
  }
  return fail(
    "metrics-port",
    TITLE,
    `port ${port}: ${describeError(err)}`,
    `find the holder with \`ss -ltnp 'sport = :${port}'\`; stop it, or set CCM_AGENT_METRICS_PORT in /etc/ccm/agent.env`,
  );
}

function tryListen(port: number): Promise<NodeJS.ErrnoException | null> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", (err: NodeJS.ErrnoException) => resolve(err));
    server.listen({ port, exclusive: true }, () => server.close(() => resolve(null)));
  });
}

async function isCcmMetrics(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2_000) });
    const body = (await res.text()).slice(0, 1_000_000);
    return res.ok && /^ccm_/m.test(body);
  } catch {
    return false;
  }
}
