import type { MatchResult, Playbook } from "../types.ts";

export const UNKNOWN_PLAYBOOK = "unknown";

/**
 * The playbook for an alert: the best-quality match (ties: the first listed), else `unknown` when it is
 * offered. Null only when nothing matches and `unknown` is not offered.
 */
export function selectPlaybook(
  playbooks: readonly Playbook<unknown, unknown>[],
  labels: Record<string, string>,
): { playbook: Playbook<unknown, unknown>; match: MatchResult } | null {
  let best: { playbook: Playbook<unknown, unknown>; match: MatchResult } | null = null;
  for (const p of playbooks) {
    if (p.name === UNKNOWN_PLAYBOOK) continue;
    const m = p.match(labels);
    if (m && m.quality > 0 && (!best || m.quality > best.match.quality)) best = { playbook: p, match: m };
  }
  if (best) return best;
  const fallback = playbooks.find((p) => p.name === UNKNOWN_PLAYBOOK);
  return fallback ? { playbook: fallback, match: { quality: 0, reason: "no playbook matched this alert" } } : null;
}
