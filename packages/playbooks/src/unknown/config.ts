import path from "node:path";
import { z } from "zod";
import { argvSchema } from "../actions/config.ts";

/** `playbooks.unknown` in the agent config: what evidence to collect for alerts nothing else handles. */
export const unknownConfigSchema = z
  .object({
    // Log files whose tail goes into the evidence bundle (must be under actions.log_roots; missing ones are skipped).
    log_files: z
      .array(z.string().refine((p) => path.isAbsolute(p), { error: "must be an absolute path" }))
      .default(["/var/log/syslog", "/var/log/messages"]),
    // Lines per log file, and of the journal.
    log_lines: z.number().int().min(1).max(2_000).default(100),
    // Read recent warnings from the systemd journal too.
    journal: z.boolean().default(true),
    // Processes listed by memory and by CPU.
    top_processes: z.number().int().min(1).max(100).default(10),
    // Optional operator command given the bundle as JSON on stdin; its output is attached as findings and
    // never executed or acted on.
    investigator: z
      .object({
        argv: argvSchema,
        timeout_ms: z.number().int().min(100).max(600_000).default(60_000),
        // Bytes of its output attached.
        max_output_bytes: z.number().int().min(256).max(1024 * 1024).default(16 * 1024),
      })
      .strict()
      .optional(),
  })
  .strict();
export type UnknownConfig = z.infer<typeof unknownConfigSchema>;
