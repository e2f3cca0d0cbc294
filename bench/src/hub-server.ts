import type { Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { createHubApp } from "@ccm/hub";
import { createLogger } from "@ccm/logger";
import { createPool } from "@ccm/store";

export const BENCH_TOKEN = "bench-webhook-token-0123456789";
/** Same server, no database: parses the body and answers 200. The ingest ceiling. */
export const CEILING_PATH = "/bench/ceiling";
export const WEBHOOK_PATH = "/v1/webhooks/alertmanager";

type Serve = (
  options: { fetch: (request: Request) => Response | Promise<Response>; port: number; hostname: string },
  listening?: () => void,
) => Server;

// @hono/node-server is the hub's dependency, not the bench's: resolve it from the hub package so
// we serve with exactly the adapter (and version) `ccm hub` runs on.
async function loadServe(): Promise<Serve> {
  const hubEntry = createRequire(import.meta.url).resolve("@ccm/hub");
  const adapter = createRequire(hubEntry).resolve("@hono/node-server");
  const mod = (await import(pathToFileURL(adapter).href)) as { serve?: Serve; default?: { serve?: Serve } };
  const serve = mod.serve ?? mod.default?.serve;
  if (!serve) throw new Error(`no serve() export in ${adapter}`);
  return serve;
}

/** Logs are serialised as in production but thrown away, so they cost CPU and no terminal. */
export const discardLogs = { write: (_line: string) => undefined };

export interface BenchHub {
  url: string;
  close(): Promise<void>;
}

/**
 * The real hub app (createHubApp: bearer check, zod, ccm.ingest_alerts, pino) on @hono/node-server
 * over loopback, plus the ceiling route. No lease sweeper: nothing here expires.
 */
export async function startBenchHub(databaseUrl: string, poolMax = 10): Promise<BenchHub> {
  const serve = await loadServe();
  const pool = createPool(databaseUrl, { max: poolMax, applicationName: "ccm-hub" });
  const log = createLogger("ccm-hub", { level: "info", destination: discardLogs });
  const app = createHubApp({
    db: pool,
    log,
    config: { CCM_WEBHOOK_TOKEN: BENCH_TOKEN, CCM_WEBHOOK_MAX_BYTES: 4 * 1024 * 1024 },
  });
  app.post(CEILING_PATH, async (c) => {
    await c.req.json();
    return c.json({ status: "ok" });
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
    s.once("error", reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.end();
    },
  };
}
