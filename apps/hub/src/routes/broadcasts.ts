import { Hono } from "hono";
import { z } from "zod";
import type { Logger } from "@ccm/logger";
import { builtinPlaybooks, validateBroadcastParams } from "@ccm/playbooks";
import { signedCommandSchema } from "@ccm/security";
import {
  BroadcastNotFoundError,
  BroadcastRejectedError,
  BroadcastStateError,
  CommandTargetsChangedError,
  broadcastCommandSchema,
  broadcastSelectorSchema,
  broadcastSpecSchema,
  commandTargets,
  controlBroadcast,
  createBroadcast,
  createSignedCommandBroadcast,
  getBroadcast,
  listBroadcasts,
  signedCommandTaskSchema,
  type DbLike,
} from "@ccm/store";
import { RequestRejected } from "../http-errors.ts";
import { checkBearer, readJsonBody, requireJson } from "../webhooks/guard.ts";
import { formatIssues } from "../webhooks/respond.ts";

export interface BroadcastsRouteDeps {
  db: DbLike;
  log: Logger;
  /** Operator bearer token (CCM_API_TOKEN); undefined = open (local use only). */
  token: string | undefined;
}

const actionBody = z
  .object({ by: z.string().trim().min(1, "must name who acts").max(200), reason: z.string().trim().max(2_000).optional() })
  .strict();

const targetsBody = z.object({ selector: broadcastSelectorSchema }).strict();

// A command broadcast signed by the caller: the rollout fields, what was asked (for display) and
// one signed task per offering host of /command-targets. The hub only relays; agents verify.
const signedCommandBody = broadcastSpecSchema
  .omit({ playbook: true, params: true })
  .extend({
    command: broadcastCommandSchema,
    tasks: z.array(signedCommandTaskSchema.extend({ command: signedCommandSchema })).max(10_000),
  })
  .strict();

// Each task repeats the argv, so a fleet-wide command is far bigger than a catalogue broadcast.
const SIGNED_BODY_MAX_BYTES = 8 * 1024 * 1024;

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
  if (err instanceof CommandTargetsChangedError) throw new RequestRejected(409, err.message);
  throw err;
}

/**
 * POST /v1/broadcasts (create; the database validates, fans out and releases the canary),
 * GET /v1/broadcasts, GET /v1/broadcasts/:id (progress and per-host state),
 * POST /v1/broadcasts/:id/pause | resume | cancel.
 * Signed ad-hoc commands, signed by the caller (the hub holds no operator key and signs nothing):
 * POST /v1/broadcasts/command-targets (which hosts to sign for), then POST /v1/broadcasts/commands.
 */
export function broadcastsRoute(deps: BroadcastsRouteDeps): Hono {
  const app = new Hono();

  app.post("/", async (c) => {
    checkBearer(c, deps.token);
    requireJson(c);
    const body = await readJsonBody(c, 64 * 1024);
    const withBy = body && typeof body === "object" && !Array.isArray(body) ? { created_by: "api", ...body } : body;
    const parsed = broadcastSpecSchema.safeParse(withBy);
    if (!parsed.success) throw new RequestRejected(400, "invalid broadcast", formatIssues(parsed.error));
    checkBuiltinParams(parsed.data.playbook, parsed.data.params);
    const row = await createBroadcast(deps.db, parsed.data).catch(mapError);
    deps.log.info({ broadcastId: row.id, playbook: row.playbook, targeted: row.targeted, by: row.created_by }, "broadcast created");
    return c.json(row, 201);
  });

  app.post("/command-targets", async (c) => {
    checkBearer(c, deps.token);
    requireJson(c);
    const parsed = targetsBody.safeParse(await readJsonBody(c, 64 * 1024));
    if (!parsed.success) throw new RequestRejected(400, 'invalid body: expected {"selector": {...}}', formatIssues(parsed.error));
    return c.json({ targets: await commandTargets(deps.db, parsed.data.selector).catch(mapError) });
  });

  app.post("/commands", async (c) => {
    checkBearer(c, deps.token);
    requireJson(c);
    const body = await readJsonBody(c, SIGNED_BODY_MAX_BYTES);
    const withBy = body && typeof body === "object" && !Array.isArray(body) ? { created_by: "api", ...body } : body;
    const parsed = signedCommandBody.safeParse(withBy);
    if (!parsed.success) throw new RequestRejected(400, "invalid signed command broadcast", formatIssues(parsed.error));
    const { command, tasks, ...spec } = parsed.data;
    const row = await createSignedCommandBroadcast(deps.db, spec, command, tasks).catch(mapError);
    deps.log.info({ broadcastId: row.id, playbook: row.playbook, targeted: row.targeted, signed: row.signed, keyId: command.key_id, by: row.created_by }, "signed command broadcast created");
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
      if (!parsed.success) throw new RequestRejected(400, 'invalid body: expected {"by": "<who>", "reason"?: "..."}', formatIssues(parsed.error));
      const id = c.req.param("id");
      const status = await controlBroadcast(deps.db, id, action, parsed.data.by, parsed.data.reason).catch(mapError);
      deps.log.info({ broadcastId: id, action, by: parsed.data.by, status }, "broadcast control");
      return c.json({ id, status });
    });
  }
  return app;
}
