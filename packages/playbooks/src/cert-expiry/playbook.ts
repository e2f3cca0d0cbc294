import type { CertInfo } from "../actions/certs.ts";
import { describeExit, outputTail } from "../actions/exec.ts";
import type { Diagnosis, Playbook, PlaybookContext, ProposedAction } from "../types.ts";
import { CERT_EXPIRY_ALERTNAMES, CERT_FILE_LABELS, ENDPOINT_LABELS, certExpiryConfigSchema, type CertExpiryConfig } from "./config.ts";
import { readTarget, resolveTargets, targetName, type Target } from "./targets.ts";

interface State {
  /** The certificates that expire too soon (or could not be read): verify reads them again. */
  due: Target[];
}

const describe = (c: CertInfo) => `${c.source} ${c.daysLeft < 0 ? `expired ${-c.daysLeft} days ago` : `expires in ${c.daysLeft} days`} (${c.validTo})`;

/** Run an allow-listed command (by name, nothing from the alert added) as a remediation step. */
async function runNamed(ctx: PlaybookContext<CertExpiryConfig>, name: string): Promise<boolean> {
  const r = await ctx.step("remediate", "command", { name }, async () => {
    if (ctx.dryRun) return { status: "dry_run" as const, detail: `would run command ${name}` };
    const res = await ctx.actions.runAllowed(name, ctx.signal);
    return { status: res.exitCode === 0 ? ("ok" as const) : ("failed" as const), detail: `${name}: ${describeExit(res)}`, exitCode: res.exitCode ?? undefined, outputTail: outputTail(res) };
  });
  return r.status === "ok" || r.status === "dry_run";
}

/**
 * cert-expiry: read certificates (configured files, files a label names inside configured roots,
 * configured TLS endpoints), report days left, issuer and SANs; renew with the configured allow-listed
 * command and read them again, else escalate with what was found.
 */
export const certExpiryPlaybook: Playbook<CertExpiryConfig, State> = {
  name: "cert-expiry",
  version: "1.0.0",
  description: "Reads expiring certificates (files, TLS endpoints); renews with a configured allow-listed command and verifies, else escalates.",
  risk: "low",
  blastRadius: "files",
  idempotent: true,
  // Renewal is the operator's own allow-listed command (certbot renew and the like renew only what is
  // due, and are safe to run twice), verified by reading the certificate again.
  prior: { successes: 4, failures: 0 },
  runbook: "docs/runbooks/cert-expiry.md",
  configSchema: certExpiryConfigSchema,
  match(labels) {
    if (labels.ccm_playbook === "cert-expiry") return { quality: 1, reason: "label ccm_playbook=cert-expiry" };
    if (CERT_EXPIRY_ALERTNAMES.includes(labels.alertname ?? "")) return { quality: 0.9, reason: `alertname ${labels.alertname} is a certificate alert` };
    return null;
  },
  async diagnose(ctx): Promise<Diagnosis<State>> {
    const cfg = ctx.config;
    let resolved: Awaited<ReturnType<typeof resolveTargets>> = { targets: [], refused: null, unconfigured: null };
    const named = Object.fromEntries([...CERT_FILE_LABELS, ...ENDPOINT_LABELS].flatMap((k) => (ctx.input.labels[k] === undefined ? [] : [[k, ctx.input.labels[k]]])));
    await ctx.step("diagnose", "resolve_certificates", { labels: named }, async () => {
      resolved = await resolveTargets(cfg, ctx.input.labels);
      return resolved.refused
        ? { status: "skipped", detail: `not read: ${resolved.refused}` }
        : { status: "ok", detail: `${resolved.targets.length} certificates: ${resolved.targets.map(targetName).join(", ").slice(0, 300)}`, data: { unconfigured_endpoint: resolved.unconfigured } };
    });
    const { targets, refused, unconfigured } = resolved;
    const none: State = { due: [] };
    if (refused) return { verdict: "escalate", confirmed: null, summary: refused, findings: {}, proposal: [], state: none };
    if (targets.length === 0) {
      return { verdict: "escalate", confirmed: null, summary: "no certificates configured (playbooks.cert-expiry.files / endpoints)", findings: { unconfigured_endpoint: unconfigured }, proposal: [], state: none };
    }

    const certs: Array<{ target: string; cert: CertInfo | null }> = [];
    const due: Target[] = [];
    for (const t of targets) {
      const cert = await readTarget(ctx, "diagnose", t);
      certs.push({ target: targetName(t), cert });
      if (!cert || cert.daysLeft < cfg.warn_days) due.push(t);
    }
    const findings = { certificates: certs, warn_days: cfg.warn_days, ...(unconfigured && { unconfigured_endpoint: unconfigured }) };
    const unreadable = certs.filter((c) => !c.cert).map((c) => c.target);
    const expiring = certs.flatMap((c) => (c.cert && c.cert.daysLeft < cfg.warn_days ? [c.cert] : [])).sort((a, b) => a.daysLeft - b.daysLeft);
    const soonest = certs.flatMap((c) => (c.cert ? [c.cert] : [])).sort((a, b) => a.daysLeft - b.daysLeft)[0];

    if (due.length === 0) {
      const fine = `${certs.length} certificates valid for at least ${cfg.warn_days} days${soonest ? ` (soonest: ${describe(soonest)})` : ""}`;
      // The alert named an endpoint this host does not check: what we checked says nothing about it.
      if (unconfigured) return { verdict: "escalate", confirmed: null, summary: `the alert names ${unconfigured}, which is not in playbooks.cert-expiry.endpoints; ${fine}`, findings, proposal: [], state: none };
      return { verdict: "no_action", confirmed: false, summary: `${fine}: nothing to do`, findings, proposal: [], state: none };
    }
    const what = [...expiring.map(describe), ...unreadable.map((u) => `${u} could not be read`)].join("; ");
    if (unreadable.length > 0) return { verdict: "escalate", confirmed: null, summary: what, findings, proposal: [], state: none };
    if (!cfg.renew_command) return { verdict: "escalate", confirmed: true, summary: `${what}; no renew_command configured (playbooks.cert-expiry.renew_command)`, findings, proposal: [], state: none };
    for (const name of [cfg.renew_command, cfg.reload_command]) {
      if (name && !Object.hasOwn(ctx.actions.config.commands, name)) {
        return { verdict: "escalate", confirmed: true, summary: `${what}; command ${name} is not in actions.commands`, findings, proposal: [], state: none };
      }
    }
    const proposal: ProposedAction[] = [{ action: "command", target: cfg.renew_command, detail: `renew: ${what}` }];
    if (cfg.reload_command) proposal.push({ action: "command", target: cfg.reload_command, detail: "load the renewed certificate" });
    return { verdict: "remediate", confirmed: true, summary: what, findings, proposal, state: { due } };
  },
  async remediate(ctx) {
    const renew = ctx.config.renew_command as string;
    const renewed = await runNamed(ctx, renew);
    const reload = ctx.config.reload_command;
    const reloaded = renewed && reload ? await runNamed(ctx, reload) : null;
    return { summary: renewed ? `ran ${renew}${reload ? ` and ${reload}` : ""}` : `${renew} failed`, details: { renewed, reloaded } };
  },
  async verify(ctx, d, r) {
    if (ctx.dryRun) return { ok: false, summary: `dry run: would run ${ctx.config.renew_command} (${d.summary})` };
    if (r.details?.renewed === false) return { ok: false, summary: `${ctx.config.renew_command} failed; certificates unchanged: ${d.summary}` };
    const deadline = Date.now() + ctx.config.verify_within_ms;
    const after: CertInfo[] = [];
    const still: string[] = [];
    for (const t of d.state.due) {
      // An endpoint may need a moment after the reload to present the new certificate.
      let cert = await readTarget(ctx, "verify", t);
      while (t.kind === "endpoint" && (!cert || cert.daysLeft < ctx.config.warn_days) && Date.now() < deadline && !ctx.signal.aborted) {
        await new Promise((res) => setTimeout(res, 500));
        cert = await readTarget(ctx, "verify", t);
      }
      if (cert) after.push(cert);
      if (!cert || cert.daysLeft < ctx.config.warn_days) still.push(cert ? describe(cert) : `${targetName(t)} could not be read`);
    }
    if (still.length > 0) return { ok: false, summary: `renewed with ${ctx.config.renew_command} but still: ${still.join("; ")}`, details: { after } };
    return { ok: true, summary: `renewed with ${ctx.config.renew_command}: ${after.map(describe).join("; ")}`, details: { after } };
  },
};
