import { createLogger } from "@ccm/logger";
import { agentPlaybooks, loadAgentConfig, startAgent } from "@ccm/agent";
import { onShutdown } from "../lifecycle.ts";

// EX_TEMPFAIL: systemd's Restart=on-failure brings the agent back with a fresh heap.
const EXIT_MEMORY_CAP = 75;

export async function agentCommand(env: NodeJS.ProcessEnv): Promise<void> {
  const playbooks = agentPlaybooks(env);
  const config = await loadAgentConfig(env, playbooks);
  const log = createLogger("ccm-agent");
  let stopping: Promise<void> | undefined;
  const agent = await startAgent(config, playbooks, log, {
    onMemoryCap: () => {
      stopping ??= agent.stop().finally(() => process.exit(EXIT_MEMORY_CAP));
    },
  });
  onShutdown(() => (stopping ??= agent.stop()));
}
