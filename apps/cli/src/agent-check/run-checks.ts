import type { CheckReport, CheckResult } from "./check-result.ts";
import { checkConfig } from "./config-check.ts";
import { checkDatabase } from "./database-check.ts";
import { checkMetricsPort } from "./metrics-port-check.ts";
import { checkPlaybookDirs } from "./playbook-dirs-check.ts";
import { checkStateDir } from "./state-dir-check.ts";
import { checkToken } from "./token-check.ts";

/** Every pre-start check, in order; a failed check never stops the others (one run shows every problem). */
export async function runAgentChecks(env: Record<string, string | undefined>): Promise<CheckReport> {
  const checks: CheckResult[] = [];
  const { result: configResult, config } = await checkConfig(env);
  checks.push(configResult);
  const { result: dbResult, pool } = await checkDatabase(env, config);
  checks.push(dbResult);
  try {
    checks.push(await checkToken(env, config, dbResult.status === "pass" ? pool : undefined));
  } finally {
    await pool?.end().catch(() => undefined);
  }
  checks.push(await checkStateDir(config?.stateDir ?? env.CCM_STATE_DIR));
  checks.push(await checkPlaybookDirs(config));
  checks.push(await checkMetricsPort(env));
  return { ok: checks.every((c) => c.status !== "fail"), checks };
}
