/** The LISTEN/NOTIFY channel of one agent; must match ccm.agent_channel() in SQL. */
export function agentChannel(agentId: string): string {
  return `ccm_agent_${agentId.replace(/-/g, "")}`;
}
