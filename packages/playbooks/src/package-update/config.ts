import { z } from "zod";
import { argvSchema } from "../actions/config.ts";

/** `playbooks.package-update` in the agent config. */
export const packageUpdateConfigSchema = z
  .object({
    // apt (apt-get + dpkg-query), dnf (dnf + rpm), command (the argv below), or auto (apt-get if present, else dnf).
    manager: z.enum(["auto", "apt", "dnf", "command"]).default("auto"),
    // For manager: command (hosts with another package tool, and tests). Called as
    // <argv…> install <name> [<version>]; exit 0 = installed.
    command: argvSchema.optional(),
    // Longest a single install may take.
    timeout_ms: z.number().int().min(1_000).max(3_600_000).default(600_000),
  })
  .strict()
  .refine((c) => c.manager !== "command" || c.command !== undefined, { message: "manager: command needs command: [argv]", path: ["command"] });
export type PackageUpdateConfig = z.infer<typeof packageUpdateConfigSchema>;
