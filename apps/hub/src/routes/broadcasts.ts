import { Hono } from "hono";
import { z } from "zod";
import type { Logger } from "@ccm/logger";
import { builtinPlaybooks, validateBroadcastParams } from "@ccm/playbooks";
import {
  BroadcastNotFoundError,
  BroadcastRejectedError,
  BroadcastStateError,
  broadcastSpecSchema,
  controlBroadcast,
  createBroadcast,
  getBroadcast,
  listBroadcasts,
  type DbLike,
} from "@ccm/store";
import { RequestRejected } from "../http-errors.ts";
import { checkBearer, readJsonBody, requireJson } from "../webhooks/guard.ts";

export interface BroadcastsRouteDeps {
  db: DbLike;
  log: Logger;
  /** Operator bearer token (CCM_API_TOKEN); undefined = open (local use only). */
  token: string | undefined;
}

const actionBody = z
  .object({ by: z.string().trim().min(1, "must name who acts").max(200), reason: z.string().trim().max(2_000).optional() })
  .strict();

const issues = (e: z.ZodError) => e.issues.map((i) => ({ path: i.path.join("."), message: i.message }));

/** Built-in params are checked here too, so a typo is a 400 now rather than 50 failed runs later. */
function checkBuiltinParams(playbook: string, params: unknown): void {
  const builtin = builtinPlaybooks().find((p) => p.name === playbook);
  if (!builtin) return; // an operator YAML playbook: each agent validates it
  const v = validateBroadcastParams(builtin, params);
  if (!v.ok) throw new RequestRejected(400, v.reason);
}

function mapError(err: unknown): never {
  if (err instanceof BroadcastRejectedError) throw new RequestRejected(400, err.message);
  if (err instanceof BroadcastNotFoundError) throw new RequestRejected(404, err.message);
  if (err instanceof BroadcastStateError) throw new RequestRejected(409, err.message);
  throw err;
}

/**
 * POST /v1/broadcasts (create; the database validates, fans out and releases the canary),
 * GET /v1/broadcasts, GET /v1/broadcasts/:id (progress and per-host state),
 * POST /v1/broadcasts/:id/pause | resume | cancel.
 */
export function broadcastsRoute(deps: BroadcastsRouteDeps): Hono {
  const app = new Hono();

  app.post("/", async (c) => {
    checkBearer(c, deps.token);
    requireJson(c);
    const body = await readJsonBody(c, 64 * 1024);
    const withBy = body && typeof body === "object" && !Array.isArray(body) ? { created_by: "api", ...body } : body;
    const parsed = broadcastSpecSchema.safeParse(withBy);
    if (!parsed.success) throw new RequestRejected(400, "invalid broadcast", issues(parsed.error));
    checkBuiltinParams(parsed.data.playbook, parsed.data.params);
    const row = await createBroadcast(deps.db, parsed.data).catch(mapError);
    deps.log.info({ broadcastId: row.id, playbook: row.playbook, targeted: row.targeted, by: row.created_by }, "broadcast created");
    return c.json(row, 201);
  });

  app.get("/", async (c) => {
    checkBearer(c, deps.token);
    const limit = Math.min(Math.max(Number(c.req.query("limit") ?? 20) || 20, 1), 200);
    return c.json({ broadcasts: await listBroadcasts(deps.db, limit) });
  });

  app.get("/:id", async (c) => {
    checkBearer(c, deps.token);
    return c.json(await getBroadcast(deps.db, c.req.param("id")).catch(mapError));
  });

  for (const action of ["pause", "resume", "cancel"] as const) {
    app.post(`/:id/${action}`, async (c) => {
      checkBearer(c, deps.token);
      requireJson(c);
      const parsed = actionBody.safeParse(await readJsonBody(c, 16 * 1024));
      if (!parsed.success) throw new RequestRejected(400, 'invalid body: expected {"by": "<who>", "reason"?: "..."}', issues(parsed.error));
      const id = c.req.param("id");
      const status = await controlBroadcast(deps.db, id, action, parsed.data.by, parsed.data.reason).catch(mapError);
      deps.log.info({ broadcastId: id, action, by: parsed.data.by, status }, "broadcast control");
      return c.json({ id, status });
    });
  }
  return app;
}
