import { Hono } from "hono";
import { z } from "zod";
import type { Logger } from "@ccm/logger";
import { decideApproval, InvalidRunIdError, toDb, type DbLike } from "@ccm/store";
import { APPROVE_ACTION, REJECT_ACTION, SlackSignatureError, verifySlackSignature } from "@ccm/notify";
import { RequestRejected } from "../http-errors.ts";
import { readBody } from "../webhooks/guard.ts";

export interface SlackRouteDeps {
  db: DbLike;
  log: Logger;
  /** Unset: the endpoint answers 404 (Slack interactivity not configured). */
  signingSecret: string | undefined;
  /** Slack user ids allowed to decide approvals. */
  approvers: string[];
}

const MAX_BYTES = 256 * 1024;

// The part of Slack's block_actions payload we use.
const blockActionsSchema = z.object({
  type: z.literal("block_actions"),
  user: z.object({ id: z.string().min(1), username: z.string().optional(), name: z.string().optional() }),
  actions: z.array(z.object({ action_id: z.string(), value: z.string().optional() })).min(1),
});


/** POST /v1/slack/interactions: Approve / Reject buttons, verified by Slack's signature. */
export function slackRoute(deps: SlackRouteDeps): Hono {
  const app = new Hono();
  app.post("/interactions", async (c) => {
    if (!deps.signingSecret) throw new RequestRejected(404, "Slack interactivity is not configured (CCM_SLACK_SIGNING_SECRET)");
    const raw = (await readBody(c, MAX_BYTES)).toString("utf8");
    const signature = c.req.header("x-slack-signature");
    try {
      verifySlackSignature({ secret: deps.signingSecret, timestamp: c.req.header("x-slack-request-timestamp"), signature, rawBody: raw });
    } catch (err) {
      if (err instanceof SlackSignatureError) {
        deps.log.warn({ reason: err.reason }, "refused a Slack request with a bad signature");
        throw new RequestRejected(401, err.message);
      }
      throw err;
    }
    const fresh = (await toDb(deps.db).call<boolean>("remember_slack_signature", { p_signature: signature })) === true;
    if (!fresh) throw new RequestRejected(401, "replayed request: this signature was already used");

    let payload: unknown;
    try {
      payload = JSON.parse(new URLSearchParams(raw).get("payload") ?? "");
    } catch {
      throw new RequestRejected(400, "expected a form body with a JSON `payload` field");
    }
    const parsed = blockActionsSchema.safeParse(payload);
    if (!parsed.success) return c.json({ ok: true, ignored: "not a block action we handle" });
    const { user, actions } = parsed.data;
    const action = actions.find((a) => a.action_id === APPROVE_ACTION || a.action_id === REJECT_ACTION);
    if (!action) return c.json({ ok: true, ignored: "no CCM action" });
    const runId = action.value ?? "";
    if (!/^[0-9a-f-]{36}$/i.test(runId)) throw new RequestRejected(400, "the button carries no valid run id");
    if (!deps.approvers.includes(user.id)) {
      deps.log.warn({ slackUser: user.id, runId }, "Slack user not in CCM_SLACK_APPROVERS tried to decide");
      throw new RequestRejected(403, `Slack user ${user.id} may not decide approvals (not in CCM_SLACK_APPROVERS)`);
    }
    const decision = action.action_id === APPROVE_ACTION ? "approved" : "rejected";
    const decidedBy = `slack:${user.username ?? user.name ?? user.id} (${user.id})`;
    let result;
    try {
      result = await decideApproval(deps.db, runId, decision, decidedBy, null);
    } catch (err) {
      // Hex and dashes of the right length but not a uuid: the same 400 as above, not a database error.
      if (err instanceof InvalidRunIdError) throw new RequestRejected(400, "the button carries no valid run id");
      throw err;
    }
    deps.log.info({ runId, decision, decidedBy, outcome: result.outcome }, "Slack approval decision");
    switch (result.outcome) {
      case "decided":
        return c.json({ ok: true, outcome: "decided", decision, decided_by: decidedBy });
      case "already_decided":
        return c.json({ ok: false, outcome: "already_decided", error: `already ${result.decision} by ${result.decided_by}`, decision: result.decision, decided_by: result.decided_by }, 409);
      case "not_found":
        throw new RequestRejected(404, `no approval for run ${runId}`);
      default:
        return c.json({ ok: false, outcome: result.outcome, error: "this run no longer awaits approval" }, 409);
    }
  });
  return app;
}
