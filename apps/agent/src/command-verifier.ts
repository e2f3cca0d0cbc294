import { createCommandVerifier, type CommandVerifier } from "@ccm/security";
import type { AgentConfig } from "./config.ts";

/** Where an agent keeps state that must survive restarts when its config names none. */
export const DEFAULT_STATE_DIR = "/var/lib/ccm";

/**
 * The agent's gate for ad-hoc commands: only signatures by `trusted_command_keys`, unexpired,
 * never twice (seen commands are kept under `state_dir`). Catalogue playbooks do not pass here.
 * A refusal's `reason` and `detail` are what the run records.
 */
export function agentCommandVerifier(config: Pick<AgentConfig, "trustedCommandKeys" | "stateDir">): CommandVerifier {
  return createCommandVerifier({ trustedKeys: config.trustedCommandKeys ?? [], stateDir: config.stateDir ?? DEFAULT_STATE_DIR });
}
