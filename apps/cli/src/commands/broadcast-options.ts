import { UsageError } from "../args.ts";

/** Target selection shared by `ccm broadcast <playbook>` and `ccm broadcast command` (see parseSelector). */
export const SELECTOR_OPTIONS = {
  select: { type: "string" },
  hosts: { type: "string" },
  "exclude-hosts": { type: "string" },
  all: { type: "boolean", default: false },
} as const;

/** Rollout options shared by `ccm broadcast <playbook>` and `ccm broadcast command`. */
export const ROLLOUT_OPTIONS = {
  canary: { type: "string" },
  batch: { type: "string" },
  "max-failures": { type: "string" },
  "max-concurrency": { type: "string" },
  "offline-ttl": { type: "string" },
  "run-timeout": { type: "string" },
  "dry-run": { type: "boolean", default: false },
  by: { type: "string" },
  json: { type: "boolean", default: false },
} as const;

/** A whole-number option, undefined when absent. */
export function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a whole number, got ${JSON.stringify(v)}`);
  return n;
}
