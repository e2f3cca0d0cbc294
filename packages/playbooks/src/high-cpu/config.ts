import { z } from "zod";

/** Alert names (node_exporter mixin, awesome-prometheus-alerts, common custom rules) this playbook answers. */
export const HIGH_CPU_ALERTNAMES: readonly string[] = [
  "HostHighCpuLoad",
  "NodeCPUHighUsage",
  "NodeSystemSaturation",
  "HighCpuUsage",
  "CpuUsageHigh",
  "HighCPU",
];

/** `playbooks.high-cpu` in the agent config. Which services may be restarted is `actions.services`. */
export const highCpuConfigSchema = z
  .object({
    // How long CPU use is sampled (two /proc readings this far apart).
    sample_ms: z.number().int().min(100).max(60_000).default(3_000),
    // Share of all CPUs busy during the sample at or above which the alert is confirmed; below it the run
    // ends with nothing done (the load is gone).
    min_busy_percent: z.number().min(0).max(100).default(80),
    // The consumer to blame must use at least this much of one core (100 = one full core).
    min_cpu_percent: z.number().min(0).max(100_000).default(80),
    // Restart the top consumer when it is an allow-listed, restartable service. Off by default: high CPU
    // is often real load, and a restart then only moves it.
    restart: z.boolean().default(false),
    // Processes listed as evidence.
    top_processes: z.number().int().min(1).max(100).default(10),
    // Log lines of the top service captured as evidence.
    log_lines: z.number().int().min(1).max(2_000).default(50),
    // After a restart, how long the service's probe may take to succeed.
    verify_within_ms: z.number().int().min(0).max(600_000).default(20_000),
  })
  .strict();
export type HighCpuConfig = z.infer<typeof highCpuConfigSchema>;
