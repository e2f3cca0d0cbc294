import path from "node:path";
import { z } from "zod";

/** An absolute path without '.' or '..' segments or NUL: config paths are compared and confined as written. */
export const absPath = z
  .string()
  .min(1)
  .refine((p) => path.isAbsolute(p) && !p.includes("\0") && !p.split("/").some((s) => s === "." || s === ".."), {
    error: "must be an absolute path without '.' or '..' segments",
  });

/** An argument array: the first element is the program (absolute path or a name on PATH). Never a shell. */
export const argvSchema = z.array(z.string().refine((a) => !a.includes("\0"), { error: "must not contain NUL" })).min(1);

/** Names that may appear as a whole argument: no leading '-', so a name can never become an option. */
export const safeName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_][A-Za-z0-9@._:-]*$/, "letters, digits and @._:- only, not starting with '-'");

export const probeSchema = z.union([
  z.object({ http: z.url(), expect_status: z.array(z.number().int()).default([200, 204]) }).strict(),
  z.object({ tcp: z.object({ host: z.string().min(1), port: z.number().int().min(1).max(65535) }).strict() }).strict(),
]);
export type ProbeConfig = z.infer<typeof probeSchema>;

export const serviceConfigSchema = z
  .object({
    // Restartable by playbooks (service-down, high-memory). False: diagnose and escalate only.
    restart: z.boolean().default(true),
    // How to tell the service is healthy after a restart (port or HTTP); absent: the status command only.
    probe: probeSchema.optional(),
    // systemd unit, when it differs from the service's name here.
    unit: safeName.optional(),
    // A log file whose tail is captured as evidence (must be under log_roots).
    log_file: absPath.optional(),
    // Process names (/proc/<pid>/comm) that belong to this service, for high-memory / high-cpu.
    processes: z.array(z.string().min(1).max(15)).default([]),
    // A file holding the service's main PID (hosts without systemd): that process and its descendants
    // belong to the service, for high-memory / high-cpu.
    pid_file: absPath.optional(),
  })
  .strict();
export type ServiceConfig = z.infer<typeof serviceConfigSchema>;

/** The agent-wide `actions:` section: what any playbook may touch on this host, and how. */
export const hostActionsConfigSchema = z
  .object({
    // How services are managed: systemd (systemctl/journalctl), or operator commands for hosts without systemd.
    service_manager: z.enum(["systemd", "command"]).default("systemd"),
    // For service_manager: command. Argument arrays; the element "{service}" is replaced by the allow-listed name.
    service_commands: z
      .object({ status: argvSchema, restart: argvSchema, logs: argvSchema.optional() })
      .strict()
      .optional(),
    // The only services a playbook may restart or inspect, by name. Alert labels only pick among these.
    services: z.record(safeName, serviceConfigSchema).default({}),
    // Allow-listed commands by name (argument arrays); playbooks run them by name, alerts cannot add arguments.
    commands: z
      .record(safeName, z.object({ argv: argvSchema, timeout_ms: z.number().int().min(100).max(600_000).optional() }).strict())
      .default({}),
    // Folders whose files' tails may be read as evidence.
    log_roots: z.array(absPath).default(["/var/log"]),
    // Default timeout of one command.
    command_timeout_ms: z.number().int().min(100).max(600_000).default(30_000),
    // Bytes of a command's output kept for the audit trail.
    output_cap_bytes: z.number().int().min(1_024).max(10 * 1024 * 1024).default(64 * 1024),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.service_manager === "command" && !c.service_commands) {
      ctx.addIssue({ code: "custom", path: ["service_commands"], message: "required when service_manager is command" });
    }
  });
export type HostActionsConfig = z.infer<typeof hostActionsConfigSchema>;
