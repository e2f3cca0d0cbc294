import { Hono } from "hono";
import { z } from "zod";
import type { Logger } from "@ccm/logger";
import { decideApproval, InvalidRunIdError, type DbLike } from "@ccm/store";
import { RequestRejected } from "../http-errors.ts";
import { checkBearer, readJsonBody, requireJson } from "../webhooks/guard.ts";
import { formatIssues } from "../webhooks/respond.ts";

export interface RunsRouteDeps {
  db: DbLike;
  log: Logger;
  /** Operator bearer token (CCM_API_TOKEN); undefined = open (local use only). */
  token: string | undefined;
}

const decisionBody = z
  .object({
    // Who decides; recorded on the approval and shown everywhere the run is.
    by: z.string().trim().min(1, "must name who decides").max(200),
    reason: z.string().trim().max(2_000).optional(),
  })
  .strict();

/** POST /v1/runs/:id/approve and /reject: decide a run waiting at awaiting_approval. The first decision wins. */
export function runsRoute(deps: RunsRouteDeps): Hono {
  const app = new Hono();
  for (const [verb, decision] of [
    ["approve", "approved"],
    ["reject", "rejected"],
  ] as const) {
    app.post(`/:id/${verb}`, async (c) => {
      checkBearer(c, deps.token);
      requireJson(c);
      const parsed = decisionBody.safeParse(await readJsonBody(c, 16 * 1024));
      if (!parsed.success) {
        throw new RequestRejected(400, "invalid body: expected {\"by\": \"<who>\", \"reason\"?: \"...\"}", formatIssues(parsed.error));
      }
      const runId = c.req.param("id");
      let r;
      try {
        r = await decideApproval(deps.db, runId, decision, parsed.data.by, parsed.data.reason);
      } catch (err) {
        if (err instanceof InvalidRunIdError) throw new RequestRejected(400, err.message);
        throw err;
      }
      switch (r.outcome) {
        case "decided":
          deps.log.info({ runId, decision, by: parsed.data.by }, "approval decided");
          return c.json(r, 200);
        case "already_decided":
          return c.json({ error: `run ${runId} was already ${r.decision} by ${r.decided_by} at ${r.decided_at?.toISOString()}; this decision changed nothing`, ...r }, 409);
        case "not_awaiting_approval":
          return c.json({ error: `run ${runId} is not awaiting approval`, ...r }, 409);
        default:
          return c.json({ error: `no approval pending or recorded for run ${runId}` }, 404);
      }
    });
  }
  return app;
}
