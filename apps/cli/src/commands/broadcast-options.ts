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
