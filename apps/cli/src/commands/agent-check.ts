import { parse } from "../args.ts";
import { formatReport } from "../agent-check/format-report.ts";
import { runAgentChecks } from "../agent-check/run-checks.ts";

/** `ccm agent check [--json]`: validate this host before starting the agent. Exit 1 when any check fails. */
export async function agentCheckCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const { values } = parse(argv, { json: { type: "boolean", default: false } });
  const report = await runAgentChecks(env);
  console.log(values.json ? JSON.stringify(report, null, 2) : formatReport(report));
  if (!report.ok) process.exitCode = 1;
}
