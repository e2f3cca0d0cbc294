import { Hono } from "hono";
import type { Logger } from "@ccm/logger";
import { ping, type Pool } from "@ccm/store";
import type { HubConfig } from "./config.ts";
import { errorHandler, RequestRejected } from "./http-errors.ts";
import { alertmanagerRoute } from "./webhooks/alertmanager.ts";

export interface HubAppDeps {
  pool: Pool;
  log: Logger;
  config: Pick<HubConfig, "CCM_WEBHOOK_TOKEN" | "CCM_WEBHOOK_MAX_BYTES">;
}

/** The hub's HTTP surface, without a listening server (tests call app.request()). */
export function createHubApp(deps: HubAppDeps): Hono {
  const app = new Hono();
  app.onError(errorHandler(deps.log));
  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${c.req.path}` }, 404));

  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) => {
    await ping(deps.pool);
    return c.json({ status: "ready" });
  });

  app.route(
    "/v1/webhooks/alertmanager",
    alertmanagerRoute({
      pool: deps.pool,
      log: deps.log.child({ component: "webhook" }),
      token: deps.config.CCM_WEBHOOK_TOKEN,
      maxBytes: deps.config.CCM_WEBHOOK_MAX_BYTES,
    }),
  );
  app.all("/v1/webhooks/alertmanager", () => {
    throw new RequestRejected(405, "use POST");
  });
  return app;
}
