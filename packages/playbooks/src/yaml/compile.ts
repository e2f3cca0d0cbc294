import { z } from "zod";
import { PlaybookInputError, type Diagnosis, type MatchResult, type Playbook, type PlaybookContext } from "../types.ts";
import { bind, proposalOf, runStep, type Params } from "./steps.ts";
import type { YamlPlaybook } from "./schema.ts";

type Config = Record<string, string | number | boolean>;
const configSchema: z.ZodType<Config> = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));

function fullMatch(pattern: string, v: string): boolean {
  return new RegExp(`^(?:${pattern})$`).test(v);
}

/** Label matchers: all must hold. A missing label is "" for regex and never equals a value. */
export function matchLabels(def: YamlPlaybook, labels: Record<string, string>): MatchResult | null {
  for (const m of def.match.all) {
    const v = labels[m.label];
    if (m.equals !== undefined && v !== m.equals) return null;
    if (m.not !== undefined && v === m.not) return null;
    if (m.regex !== undefined && !fullMatch(m.regex, v ?? "")) return null;
    if (m.not_regex !== undefined && fullMatch(m.not_regex, v ?? "")) return null;
  }
  const said = def.match.all.map((m) => `${m.label}${m.equals !== undefined ? `=${m.equals}` : m.not !== undefined ? `!=${m.not}` : m.regex !== undefined ? `=~${m.regex}` : `!~${m.not_regex}`}`);
  return { quality: def.match.quality, reason: `matched ${said.join(", ")}` };
}

/** Parameters from labels, annotations and config; alert values must match their pattern in full. */
export function resolveParams(def: YamlPlaybook, ctx: PlaybookContext<Config>): Params {
  const out: Params = {};
  for (const [name, p] of Object.entries(def.params)) {
    if (p.from === "config") {
      const v = ctx.config[p.key] ?? p.default;
      if (v === undefined) throw new PlaybookInputError(`parameter ${name}: playbooks.${def.name}.${p.key} is not set`);
      out[name] = String(v);
      continue;
    }
    const source = p.from === "label" ? ctx.input.labels : ctx.input.annotations;
    const v = source[p.key] ?? p.default;
    if (v === undefined) throw new PlaybookInputError(`parameter ${name}: the alert has no ${p.from} ${p.key}`);
    if (!fullMatch(p.pattern, v)) {
      throw new PlaybookInputError(`parameter ${name}: ${p.from} ${p.key} does not match ${p.pattern} (value not used)`);
    }
    out[name] = v;
  }
  return out;
}

interface State {
  params: Params;
}

/** An operator YAML playbook as an engine playbook. */
export function compileYamlPlaybook(def: YamlPlaybook): Playbook<Config, State> {
  return {
    name: def.name,
    version: def.version,
    description: def.description,
    risk: def.risk,
    blastRadius: def.blast_radius,
    idempotent: def.idempotent,
    thresholds: def.thresholds,
    runbook: def.runbook,
    configSchema,
    match: (labels) => matchLabels(def, labels),
    async diagnose(ctx): Promise<Diagnosis<State>> {
      const params = resolveParams(def, ctx);
      const held: boolean[] = [];
      const failed: string[] = [];
      for (const s of def.diagnose) {
        const r = await runStep(ctx, "diagnose", bind(s, params));
        if (r.holds !== null) held.push(r.holds);
        if (r.holds === false) failed.push(r.outcome.detail ?? s.action);
      }
      const confirmed = held.length === 0 ? null : held.every(Boolean);
      const proposal = def.remediate.map((s) => proposalOf(bind(s, params)));
      const findings = { params, checks: held.length, failed_checks: failed };
      if (confirmed === false) {
        return { verdict: "no_action", confirmed, summary: `diagnosis did not confirm the problem (${failed.join("; ")}): nothing to do`, findings, proposal: [], state: { params } };
      }
      const summary = confirmed ? `${def.name}: diagnosis confirmed (${held.length} checks)` : `${def.name}: no diagnosis checks`;
      return { verdict: "remediate", confirmed, summary, findings, proposal, state: { params } };
    },
    async remediate(ctx, d) {
      for (const s of def.remediate) {
        const r = await runStep(ctx, "remediate", bind(s, d.state.params));
        if (r.outcome.status === "failed") return { summary: `${s.action} failed: ${r.outcome.detail ?? ""}`, details: { failed_step: s.action } };
      }
      return { summary: `${def.remediate.length} steps done` };
    },
    async verify(ctx, d) {
      const failed: string[] = [];
      for (const s of def.verify) {
        const r = await runStep(ctx, "verify", bind(s, d.state.params));
        if (r.holds === false || r.outcome.status === "failed") failed.push(`${s.action}: ${r.outcome.detail ?? "failed"}`);
      }
      return failed.length === 0
        ? { ok: true, summary: `${def.name}: verified (${def.verify.length} checks)` }
        : { ok: false, summary: `${def.name}: not fixed (${failed.join("; ")})`, details: { failed_checks: failed } };
    },
  };
}
