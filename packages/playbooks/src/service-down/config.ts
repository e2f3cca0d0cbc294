import { z } from "zod";

/** Alert names (blackbox/systemd exporter and common custom rules) this playbook answers when a service label is present. */
export const SERVICE_DOWN_ALERTNAMES: readonly string[] = [
  "ServiceDown",
  "SystemdServiceDown",
  "SystemdUnitFailed",
  "NodeSystemdServiceFailed",
  "HostSystemdServiceCrashed",
  "ProcessDown",
];

/** Labels that may name the service, first present wins; node_exporter's systemd collector uses `name`. */
export const SERVICE_LABELS: readonly string[] = ["service", "unit", "name", "systemd_unit"];

/** `playbooks.service-down` in the agent config. Which services may be restarted is `actions.services`. */
export const serviceDownConfigSchema = z
  .object({
    // Log lines captured as evidence before acting and when the service does not come back.
    log_lines: z.number().int().min(1).max(2_000).default(50),
    // After a restart, how long the probe may take to succeed.
    verify_within_ms: z.number().int().min(0).max(600_000).default(20_000),
  })
  .strict();
export type ServiceDownConfig = z.infer<typeof serviceDownConfigSchema>;
