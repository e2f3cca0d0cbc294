import { writeFile } from "node:fs/promises";
import path from "node:path";
import { agentFileSchema } from "@ccm/agent";

/**
 * Write `<dir>/agent.yaml` (as JSON, a subset of YAML) for a `ccm agent` process. When the agent's
 * schema knows `state_dir`, it points into `dir`, so every bench agent has its own state folder.
 */
export async function writeAgentConfig(dir: string, fields: Record<string, unknown>): Promise<string> {
  const file = path.join(dir, "agent.yaml");
  const withState = "state_dir" in agentFileSchema.shape ? { state_dir: path.join(dir, "state"), ...fields } : fields;
  await writeFile(file, JSON.stringify(withState, null, 2));
  return file;
}
