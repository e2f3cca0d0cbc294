import type { ProposedAction } from "../types.ts";

const key = (a: ProposedAction) => `${a.action}\u0000${a.target}`;

/** Actions of `fresh` that a human did not approve (empty: the fresh proposal is covered by the approval). */
export function unapprovedActions(fresh: readonly ProposedAction[], approved: readonly ProposedAction[]): ProposedAction[] {
  const ok = new Set(approved.map(key));
  return fresh.filter((a) => !ok.has(key(a)));
}

export function describeProposal(p: readonly ProposedAction[]): string {
  return p.map((a) => `${a.action} ${a.target}${a.detail ? ` (${a.detail})` : ""}`).join("; ");
}
