import { createLogger } from "@ccm/logger";
import { agentPlaybooks, loadAgentConfig, startAgent } from "@ccm/agent";
import { onShutdown } from "../lifecycle.ts";

// EX_TEMPFAIL: systemd's Restart=on-failure brings the agent back with a fresh heap.
const EXIT_MEMORY_CAP = 75;

export async function agentCommand(env: NodeJS.ProcessEnv): Promise<void> {
  const playbooks = agentPlaybooks(env);
  const config = await loadAgentConfig(env, playbooks);
  const log = createLogger("ccm-agent");
  // A stop asked for while the agent is still starting (enrolment, journal recovery) is honoured
  // once it has started, instead of Node's default kill.
  let stopAsked = false;
  const early = () => {
    stopAsked = true;
  };
  process.on("SIGTERM", early);
  process.on("SIGINT", early);
  let stopping: Promise<void> | undefined;
  const agent = await startAgent(config, playbooks, log, {
    onMemoryCap: () => {
      stopping ??= agent.stop().finally(() => process.exit(EXIT_MEMORY_CAP));
    },
  });
  process.removeListener("SIGTERM", early);
  process.removeListener("SIGINT", early);
  onShutdown(() => (stopping ??= agent.stop()));
  if (stopAsked) {
    await (stopping ??= agent.stop());
    process.exit(0);
  }
}
