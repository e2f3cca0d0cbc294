import { z } from "zod";
import type { Playbook } from "@ccm/playbooks";

// Playbooks that only wait, so crash tests can SIGKILL an agent mid-run. Registered only when
// CCM_TEST_PLAYBOOKS=1; never on a real host.

const sleepConfig = z.object({ duration_ms: z.number().int().min(0).default(60_000) }).strict();

function sleeper(name: string, alertname: string, idempotent: boolean): Playbook<z.infer<typeof sleepConfig>, null> {
  return {
    name,
    version: "1.0.0",
    description: `test only: waits duration_ms (${idempotent ? "idempotent" : "not idempotent"})`,
    risk: "low",
    blastRadius: "none",
    idempotent,
    runbook: "test only",
    configSchema: sleepConfig,
    match: (labels) => (labels.alertname === alertname ? { quality: 1, reason: `alertname ${alertname}` } : null),
    // The wait is the diagnosis; it finds nothing to fix, so nothing is ever changed.
    async diagnose(ctx) {
      await ctx.step("diagnose", "sleep", { ms: ctx.config.duration_ms }, async () => {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, ctx.config.duration_ms);
          ctx.signal.addEventListener("abort", () => {
            clearTimeout(t);
            resolve();
          });
        });
        return { status: ctx.signal.aborted ? "skipped" : "ok", detail: ctx.signal.aborted ? "aborted" : "slept" };
      });
      return { verdict: "no_action", confirmed: false, summary: `slept ${ctx.config.duration_ms} ms`, findings: {}, proposal: [], state: null };
    },
    remediate: async () => ({ summary: "nothing" }),
    verify: async () => ({ ok: true, summary: "nothing" }),
  };
}

export const testPlaybooks: Playbook<unknown, unknown>[] = [
  sleeper("test-sleep", "CCMTestSleep", true) as Playbook<unknown, unknown>,
  sleeper("test-sleep-once", "CCMTestSleepOnce", false) as Playbook<unknown, unknown>,
];
