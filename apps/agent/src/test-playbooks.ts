import { z } from "zod";
import type { Playbook } from "@ccm/playbooks";

// Playbooks that only wait, so crash tests can SIGKILL an agent mid-run. Registered only when
// CCM_TEST_PLAYBOOKS=1; never on a real host.

const sleepConfig = z.object({ duration_ms: z.number().int().min(0).default(60_000) }).strict();

function sleeper(name: string, alertname: string, idempotent: boolean): Playbook<z.infer<typeof sleepConfig>> {
  return {
    name,
    version: "1.0.0",
    description: `test only: waits duration_ms (${idempotent ? "idempotent" : "not idempotent"})`,
    risk: "low",
    idempotent,
    configSchema: sleepConfig,
    matches: (labels) => labels.alertname === alertname,
    async run(ctx) {
      await ctx.step("remediate", "sleep", { ms: ctx.config.duration_ms }, async () => {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, ctx.config.duration_ms);
          ctx.signal.addEventListener("abort", () => {
            clearTimeout(t);
            resolve();
          });
        });
        return { status: ctx.signal.aborted ? "skipped" : "ok", detail: ctx.signal.aborted ? "aborted" : "slept" };
      });
      return { status: "succeeded", summary: `slept ${ctx.config.duration_ms} ms` };
    },
  };
}

export const testPlaybooks: Playbook<unknown>[] = [
  sleeper("test-sleep", "CCMTestSleep", true) as Playbook<unknown>,
  sleeper("test-sleep-once", "CCMTestSleepOnce", false) as Playbook<unknown>,
];
