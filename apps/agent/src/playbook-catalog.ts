import { builtinPlaybooks, type Playbook } from "@ccm/playbooks";
import { testPlaybooks } from "./test-playbooks.ts";

/** The built-in playbooks this agent offers, in match order. Test playbooks only with CCM_TEST_PLAYBOOKS=1. */
export function agentPlaybooks(env: Record<string, string | undefined>): Playbook<unknown, unknown>[] {
  const builtins = builtinPlaybooks();
  return env.CCM_TEST_PLAYBOOKS === "1" ? [...builtins, ...testPlaybooks] : builtins;
}
