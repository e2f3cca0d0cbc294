import { certExpiryPlaybook } from "./cert-expiry/playbook.ts";
import { diskFullPlaybook } from "./disk-full/playbook.ts";
import { highCpuPlaybook } from "./high-cpu/playbook.ts";
import { highMemoryPlaybook } from "./high-memory/playbook.ts";
import { logRotationBrokenPlaybook } from "./log-rotation-broken/playbook.ts";
import { serviceDownPlaybook } from "./service-down/playbook.ts";
import type { Playbook } from "./types.ts";
import { unknownPlaybook } from "./unknown/playbook.ts";
import { broadcastPlaybooks } from "./broadcast/playbooks.ts";

/** The built-in library, in match order; `unknown` takes what nothing else matches. */
export function builtinPlaybooks(): Playbook<unknown, unknown>[] {
  return [diskFullPlaybook, serviceDownPlaybook, highMemoryPlaybook, highCpuPlaybook, certExpiryPlaybook, logRotationBrokenPlaybook, unknownPlaybook, ...broadcastPlaybooks()] as Playbook<unknown, unknown>[];
}
