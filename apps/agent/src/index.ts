export { AGENT_VERSION, startAgent, type RunningAgent } from "./agent.ts";
export { agentFileSchema, loadAgentConfig, parseAgentConfig, type AgentConfig } from "./config.ts";
export { agentPlaybooks } from "./playbook-catalog.ts";
export { executeRun } from "./run-executor.ts";
