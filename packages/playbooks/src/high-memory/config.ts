import { z } from "zod";

/** Alert names (node_exporter mixin, awesome-prometheus-alerts, common custom rules) this playbook answers. */
export const HIGH_MEMORY_ALERTNAMES: readonly string[] = [
  "HostOutOfMemory",
  "HostMemoryUnderMemoryPressure",
  "NodeMemoryHighUtilization",
  "HighMemoryUsage",
  "MemoryUsageHigh",
  "HighMemory",
];

/** `playbooks.high-memory` in the agent config. Which services may be restarted is `actions.services`. */
export const highMemoryConfigSchema = z
  .object({
    // Host memory in use ((total - available) / total) at or above which the alert is confirmed; below it
    // the run ends with nothing done (the pressure is gone).
    min_used_percent: z.number().min(0).max(100).default(85),
    // The consumer to restart must hold at least this share of total memory; below it memory is spread
    // over many processes and only a human can decide.
    min_share_percent: z.number().min(0).max(100).default(20),
    // Processes listed as evidence.
    top_processes: z.number().int().min(1).max(100).default(10),
    // Log lines of the offending service captured as evidence.
    log_lines: z.number().int().min(1).max(2_000).default(50),
    // After a restart, how long the service's probe may take to succeed.
    verify_within_ms: z.number().int().min(0).max(600_000).default(20_000),
  })
  .strict();
export type HighMemoryConfig = z.infer<typeof highMemoryConfigSchema>;
