import { z } from "zod";
import type { Playbook } from "../types.ts";

// Parameters a broadcast may pass to playbooks that do not declare their own `params` schema.
// disk-full reads its mountpoint from the alert's labels, so a broadcast sweep passes it as a param.
const EXTRA: Record<string, z.ZodType<Record<string, unknown>>> = {
  "disk-full": z.object({ mountpoint: z.string().regex(/^\/[A-Za-z0-9._/-]{0,255}$/, "an absolute mount point").optional() }).strict(),
};
const NONE = z.object({}).strict();

/** The schema a broadcast's params must satisfy for this playbook (no declared params = none allowed). */
export function broadcastParamsSchema(playbook: Pick<Playbook<unknown, unknown>, "name" | "params">): z.ZodType<Record<string, unknown>> {
  return playbook.params ?? EXTRA[playbook.name] ?? NONE;
}

/** Validate params for a playbook; returns the parsed params or a reason a human can act on. */
export function validateBroadcastParams(
  playbook: Pick<Playbook<unknown, unknown>, "name" | "params">,
  params: unknown,
): { ok: true; params: Record<string, unknown> } | { ok: false; reason: string } {
  const r = broadcastParamsSchema(playbook).safeParse(params ?? {});
  if (r.success) return { ok: true, params: r.data };
  return { ok: false, reason: `invalid params for ${playbook.name}: ${r.error.issues.map((i) => `${i.path.join(".") || "(params)"}: ${i.message}`).join("; ")}` };
}

/** Params as alert-style labels, for playbooks that read their target from labels (disk-full's mountpoint). */
export function paramsAsLabels(params: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)]));
}
