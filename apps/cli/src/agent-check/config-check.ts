import { agentPlaybooks, loadAgentConfig, type AgentConfig } from "@ccm/agent";
import { ConfigError } from "@ccm/schemas";
import { describeError, fail, pass, type CheckResult } from "./check-result.ts";

const TITLE = "config valid";

/** Parse the agent's config exactly as `ccm agent` does; every offending key is listed. */
export async function checkConfig(env: Record<string, string | undefined>): Promise<{ result: CheckResult; config?: AgentConfig }> {
  const playbooks = agentPlaybooks(env);
  const source = env.CCM_AGENT_CONFIG || "defaults (CCM_AGENT_CONFIG not set)";
  try {
    const config = await loadAgentConfig(env, playbooks);
    const names = playbooks.map((p) => p.name).join(", ");
    const mode = config.dry_run ? "dry-run" : "live";
    return { result: pass("config", TITLE, `${source}: host ${config.host}, ${mode}, playbooks ${names}`), config };
  } catch (err) {
    if (err instanceof ConfigError) {
      return {
        result: fail(
          "config",
          TITLE,
          `${source}:\n${err.issues.map((i) => `  ${i}`).join("\n")}`,
          `correct the key(s) above in ${env.CCM_AGENT_CONFIG || "the file named by CCM_AGENT_CONFIG"}; docs/operators-guide.md lists every key`,
        ),
      };
    }
    return { result: fail("config", TITLE, describeError(err), "see the error above") };
  }
}
