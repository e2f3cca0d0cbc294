import { paramsAsLabels, UNKNOWN_PLAYBOOK, validateBroadcastParams, type MatchResult, type Playbook } from "@ccm/playbooks";
import type { RunContext } from "@ccm/store";

export type BroadcastSpec = NonNullable<RunContext["broadcast"]>;

export type BroadcastSelection =
  | { ok: true; playbook: Playbook<unknown, unknown>; match: MatchResult; params: Record<string, unknown>; labels: Record<string, string>; by: string }
  | { ok: false; reason: string };

/**
 * The playbook a broadcast run names, exactly (never label matching), with its params validated by
 * the playbook's own schema. A refusal carries the reason recorded on the run.
 */
export function selectBroadcastPlaybook(playbooks: readonly Playbook<unknown, unknown>[], spec: BroadcastSpec, host: string): BroadcastSelection {
  const playbook = playbooks.find((p) => p.name === spec.playbook);
  if (!playbook || playbook.name === UNKNOWN_PLAYBOOK) {
    return { ok: false, reason: `playbook ${spec.playbook} is not offered by the agent on ${host}; refused` };
  }
  const v = validateBroadcastParams(playbook, spec.params);
  if (!v.ok) return { ok: false, reason: `${v.reason}; refused` };
  return {
    ok: true,
    playbook,
    match: { quality: 1, reason: `broadcast ${spec.id} by ${spec.created_by}` },
    params: v.params,
    // disk-full reads its mountpoint from labels; params never reach a shell either way.
    labels: paramsAsLabels(v.params),
    by: spec.created_by,
  };
}

/**
 * A broadcast has no one to escalate to but the operator who is watching it: the engine's
 * `escalated` is reported as `failed` (the broadcast counts it against max_failures and names it).
 */
export function broadcastStatus<S extends string>(status: S): S | "failed" {
  return status === "escalated" ? "failed" : status;
}

/** "…: needs a human" is the engine's wording for alerts; a broadcast summary says what failed. */
export function broadcastSummary(summary: string): string {
  return summary.replace(/: needs a human$/, "");
}
