import { createLogger } from "@ccm/logger";
import { agentPlaybooks, loadAgentConfig, startAgent } from "@ccm/agent";
import { onShutdown } from "../lifecycle.ts";

export async function agentCommand(env: NodeJS.ProcessEnv): Promise<void> {
  const playbooks = agentPlaybooks(env);
  const config = await loadAgentConfig(env, playbooks);
  const log = createLogger("ccm-agent");
  const agent = await startAgent(config, playbooks, log);
  onShutdown(() => agent.stop());
}
