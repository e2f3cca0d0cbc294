import { collectFactsPlaybook } from "../collect-facts/playbook.ts";
import { packageUpdatePlaybook } from "../package-update/playbook.ts";
import { serviceRestartPlaybook } from "../service-restart/playbook.ts";
import type { Playbook } from "../types.ts";

/** Built-ins meant for fleet broadcasts: they match no alert, so their place in match order does not matter. */
export function broadcastPlaybooks(): Playbook<unknown, unknown>[] {
  return [packageUpdatePlaybook, serviceRestartPlaybook, collectFactsPlaybook] as Playbook<unknown, unknown>[];
}
