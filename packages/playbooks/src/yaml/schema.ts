import path from "node:path";
import { z } from "zod";

// The operator playbook format (YAML). Everything an alert contributes arrives through `params`, each
// validated by a pattern, and is substituted only as a whole value ("{{name}}"), never inside a string.

const ref = /^\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}$/;
/** A literal, or exactly "{{param}}". */
const value = z.string().min(1).refine((v) => !v.includes("{{") || ref.test(v), { error: "a parameter must be the whole value: \"{{name}}\"" });
const literalPath = z
  .string()
  .refine((p) => path.isAbsolute(p) && !p.includes("{{") && !p.split("/").some((s) => s === "." || s === ".."), {
    error: "must be a literal absolute path without '.' or '..' (never taken from an alert)",
  })
  .refine((p) => path.resolve(p) !== "/", { error: "must not be /" });

export const matcherSchema = z
  .object({
    label: z.string().min(1),
    equals: z.string().optional(),
    regex: z.string().optional(),
    not: z.string().optional(),
    not_regex: z.string().optional(),
  })
  .strict()
  .refine((m) => [m.equals, m.regex, m.not, m.not_regex].filter((x) => x !== undefined).length === 1, {
    error: "give exactly one of equals, regex, not, not_regex",
  })
  .refine((m) => [m.regex, m.not_regex].every((r) => r === undefined || isRegex(r)), { error: "is not a valid regular expression" });

function isRegex(r: string): boolean {
  try {
    new RegExp(r);
    return true;
  } catch {
    return false;
  }
}

export const paramSchema = z.discriminatedUnion("from", [
  z
    .object({
      from: z.enum(["label", "annotation"]),
      key: z.string().min(1),
      // Required for alert data: the value must match it in full, else the run escalates.
      pattern: z.string().refine(isRegex, { error: "is not a valid regular expression" }),
      default: z.string().optional(),
    })
    .strict(),
  z.object({ from: z.literal("config"), key: z.string().min(1), default: z.union([z.string(), z.number()]).optional() }).strict(),
]);

const expectOk = z.object({ ok: z.boolean() }).strict();
const common = { expect: z.unknown().optional(), description: z.string().optional() };

export const stepSchema = z.discriminatedUnion("action", [
  z.object({ action: z.literal("service_status"), service: value, ...common, expect: z.object({ active: z.boolean() }).strict().optional() }).strict(),
  z.object({ action: z.literal("restart_service"), service: value, description: z.string().optional() }).strict(),
  z
    .object({
      action: z.literal("http_probe"),
      url: z.url(),
      expect_status: z.array(z.number().int()).default([200, 204]),
      within_ms: z.number().int().min(0).max(600_000).default(0),
      ...common,
      expect: expectOk.optional(),
    })
    .strict(),
  z
    .object({
      action: z.literal("tcp_probe"),
      host: z.string().min(1),
      port: z.number().int().min(1).max(65535),
      within_ms: z.number().int().min(0).max(600_000).default(0),
      ...common,
      expect: expectOk.optional(),
    })
    .strict(),
  z.object({ action: z.literal("log_tail"), file: literalPath, lines: z.number().int().min(1).max(2_000).default(50), description: z.string().optional() }).strict(),
  z
    .object({ action: z.literal("command"), name: z.string().min(1), ...common, expect: z.object({ exit_code: z.number().int() }).strict().optional() })
    .strict(),
  z
    .object({
      action: z.literal("remove_files"),
      dir: literalPath,
      pattern: z.string().min(1).refine((g) => !g.includes("/"), { error: "is a basename glob" }),
      older_than_days: z.number().min(0),
      description: z.string().optional(),
    })
    .strict(),
  z.object({ action: z.literal("journal_vacuum"), max_size: z.string().regex(/^[0-9]+[KMG]$/).optional(), max_time: z.string().regex(/^[0-9]+(s|min|h|d|weeks|months)$/).optional(), description: z.string().optional() }).strict(),
  z.object({ action: z.literal("logrotate"), config: literalPath, description: z.string().optional() }).strict(),
]);
export type YamlStep = z.infer<typeof stepSchema>;

// Which actions change the host (only allowed under remediate) and which only look.
export const CHANGING_ACTIONS = new Set(["restart_service", "remove_files", "journal_vacuum", "logrotate", "command"]);

const semver = z.string().regex(/^\d+\.\d+\.\d+$/, "must be a version like 1.0.0");

/** An operator playbook file. Unknown keys are errors, so a typo never silently does nothing. */
export const yamlPlaybookSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9-]{1,62}$/, "lower-case letters, digits and '-'"),
    version: semver,
    description: z.string().min(1),
    risk: z.enum(["low", "medium", "high"]),
    blast_radius: z.enum(["none", "files", "process", "service", "host"]),
    idempotent: z.boolean(),
    thresholds: z.object({ auto: z.number().min(0).max(1).optional(), approve: z.number().min(0).max(1).optional() }).strict().optional(),
    runbook: z.string().min(1),
    // All matchers must hold. quality (0..1] says how specific the match is; it feeds confidence.
    match: z.object({ all: z.array(matcherSchema).min(1), quality: z.number().gt(0).max(1).default(1) }).strict(),
    params: z.record(z.string().regex(/^[a-z_][a-z0-9_]*$/), paramSchema).default({}),
    diagnose: z.array(stepSchema).default([]),
    remediate: z.array(stepSchema).min(1),
    verify: z.array(stepSchema).min(1),
  })
  .strict()
  .superRefine((p, ctx) => {
    for (const phase of ["diagnose", "verify"] as const) {
      p[phase].forEach((s, i) => {
        if (CHANGING_ACTIONS.has(s.action) && s.action !== "command") {
          ctx.addIssue({ code: "custom", path: [phase, i, "action"], message: `${s.action} changes the host: only allowed under remediate` });
        }
      });
    }
    const known = new Set(Object.keys(p.params));
    for (const phase of ["diagnose", "remediate", "verify"] as const) {
      p[phase].forEach((s, i) => {
        for (const [k, v] of Object.entries(s)) {
          const m = typeof v === "string" ? ref.exec(v) : null;
          if (m && !known.has(m[1] as string)) ctx.addIssue({ code: "custom", path: [phase, i, k], message: `unknown parameter ${m[1]}` });
        }
      });
    }
  });
export type YamlPlaybook = z.infer<typeof yamlPlaybookSchema>;

/** The parameter a value refers to ("{{name}}"), or null for a literal. */
export function paramRef(v: string): string | null {
  return ref.exec(v)?.[1] ?? null;
}

/** JSON Schema for editors (docs/playbook.schema.json). */
export function playbookJsonSchema(): unknown {
  return z.toJSONSchema(yamlPlaybookSchema, { io: "input", unrepresentable: "any" });
}
