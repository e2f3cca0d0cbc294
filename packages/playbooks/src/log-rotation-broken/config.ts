import { z } from "zod";
import { absPath } from "../actions/config.ts";

/** Alert names (common custom rules on filestat/textfile exporters) this playbook answers. */
export const LOG_ROTATION_ALERTNAMES: readonly string[] = [
  "LogRotationBroken",
  "LogRotationStale",
  "LogrotateFailed",
  "LogFileTooLarge",
  "LogFileTooBig",
  "LogFileGrowing",
];

/** Labels that may name the log file, first present wins. */
export const LOG_FILE_LABELS: readonly string[] = ["log_file", "filepath", "file", "path", "filename"];

/** `playbooks.log-rotation-broken` in the agent config. Alert labels never reach logrotate. */
export const logRotationConfigSchema = z
  .object({
    // The logrotate binary (absolute: PATH is not trusted on a remediation path).
    logrotate: absPath.default("/usr/sbin/logrotate"),
    // The logrotate config forced on a fix (`logrotate --force <config>`). Absent: diagnose and escalate only.
    config: absPath.optional(),
    // logrotate's state file for that config (--state); absent: logrotate's default.
    state_file: absPath.optional(),
    // Logs checked when the alert names none.
    files: z.array(absPath).default([]),
    // A label may name a log only if its real path is inside one of these (or is one of `files`).
    roots: z.array(absPath).default([]),
    // A log at least this large is not being rotated.
    max_size_mb: z.number().positive().default(1_024),
    // No rotation for this long (logrotate state, else the newest rotated file) counts as stale.
    max_age_hours: z.number().positive().default(36),
    // Timeout of one logrotate run (compression of a large log takes a while).
    timeout_ms: z.number().int().min(1_000).max(3_600_000).default(600_000),
  })
  .strict();
export type LogRotationConfig = z.infer<typeof logRotationConfigSchema>;
