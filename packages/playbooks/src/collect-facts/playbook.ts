import { z } from "zod";
import type { HostFacts } from "../actions/facts.ts";
import type { Diagnosis, Playbook } from "../types.ts";

const configSchema = z.object({}).strict();
const paramsSchema = z.object({}).strict();

function describe(f: HostFacts): string {
  const fullest = [...f.filesystems].sort((a, b) => b.usedPercent - a.usedPercent)[0];
  return [
    `${f.cpu.cores} cores, load ${f.cpu.loadPercent.toFixed(0)}%`,
    `memory ${f.memory.usedPercent.toFixed(0)}% used`,
    fullest ? `fullest filesystem ${fullest.mount} ${fullest.usedPercent.toFixed(0)}%` : "no filesystems read",
  ].join(", ");
}

/** collect-facts: read-only inventory (CPU, memory, filesystems) from every targeted host. Matches no alert. */
export const collectFactsPlaybook: Playbook<z.infer<typeof configSchema>, null> = {
  name: "collect-facts",
  version: "1.0.0",
  description: "Reads CPU, memory and filesystem facts; changes nothing. For fleet broadcasts (inventory, smoke tests).",
  risk: "low",
  blastRadius: "none",
  idempotent: true,
  runbook: "docs/broadcast.md",
  configSchema,
  params: paramsSchema,
  match: () => null,
  async diagnose(ctx): Promise<Diagnosis<null>> {
    const out = await ctx.step("diagnose", "host_facts", {}, async () => {
      const facts = await ctx.actions.facts();
      return { status: "ok" as const, detail: describe(facts), data: facts };
    });
    return { verdict: "no_action", confirmed: false, summary: out.detail ?? "facts collected", findings: { facts: out.data }, proposal: [], state: null };
  },
  remediate: async () => ({ summary: "nothing to change" }),
  verify: async () => ({ ok: true, summary: "nothing to verify" }),
};
