import { diskFullPlaybook, type Playbook } from "@ccm/playbooks";
import { testPlaybooks } from "./test-playbooks.ts";

/** The playbooks this agent offers, in match order. Test playbooks only with CCM_TEST_PLAYBOOKS=1. */
export function agentPlaybooks(env: Record<string, string | undefined>): Playbook<unknown>[] {
  const builtins: Playbook<unknown>[] = [diskFullPlaybook as Playbook<unknown>];
  return env.CCM_TEST_PLAYBOOKS === "1" ? [...builtins, ...testPlaybooks] : builtins;
}
