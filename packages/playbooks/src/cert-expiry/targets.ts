import { fetchPeerCert, readCertFile, type CertInfo } from "../actions/certs.ts";
import { confinedFile, PathNotAllowedError } from "../shared/confined-path.ts";
import { serviceLabel } from "../shared/service-evidence.ts";
import type { Phase, PlaybookContext } from "../types.ts";
import { CERT_FILE_LABELS, ENDPOINT_LABELS, parseEndpoint, type CertExpiryConfig } from "./config.ts";

export type Target = { kind: "file"; path: string } | { kind: "endpoint"; host: string; port: number; name: string };

export interface Resolved {
  targets: Target[];
  /** Why the alert's own label was not used (a human must look), or null. */
  refused: string | null;
  /** An endpoint the alert names that is not configured: noted, never probed. */
  unconfigured: string | null;
}

const MAX_CERT_BYTES = 1024 * 1024;
const same = (a: { host: string; port: number }, b: { host: string; port: number }) => a.host.toLowerCase() === b.host.toLowerCase() && a.port === b.port;

/**
 * The certificates to check. A file label is used only inside the configured roots/files; an endpoint
 * label only picks one of the configured endpoints. With neither, every configured certificate is checked.
 */
export async function resolveTargets(config: CertExpiryConfig, labels: Record<string, string>): Promise<Resolved> {
  const fileLabel = serviceLabel(labels, CERT_FILE_LABELS);
  if (fileLabel !== undefined) {
    try {
      const { real } = await confinedFile(fileLabel, { roots: config.roots, files: config.files }, MAX_CERT_BYTES);
      return { targets: [{ kind: "file", path: real }], refused: null, unconfigured: null };
    } catch (err) {
      if (!(err instanceof PathNotAllowedError)) throw err;
      return { targets: [], refused: `certificate file label: ${err.message} (playbooks.cert-expiry.roots / files)`, unconfigured: null };
    }
  }
  const configured = config.endpoints.map((e) => ({ ...(parseEndpoint(e) as { host: string; port: number }), name: e }));
  let unconfigured: string | null = null;
  for (const key of ENDPOINT_LABELS) {
    const v = labels[key]?.trim();
    const wanted = v ? parseEndpoint(v) : null;
    if (!v || !wanted) continue;
    const hit = configured.find((c) => same(c, wanted));
    if (hit) return { targets: [{ kind: "endpoint", ...hit }], refused: null, unconfigured: null };
    unconfigured ??= v.slice(0, 200);
  }
  return {
    targets: [...config.files.map((path) => ({ kind: "file" as const, path })), ...configured.map((c) => ({ kind: "endpoint" as const, ...c }))],
    refused: null,
    unconfigured,
  };
}

export const targetName = (t: Target) => (t.kind === "file" ? t.path : t.name);

/** Read one certificate as a recorded step; null (and a failed step) when it cannot be read. */
export async function readTarget(ctx: PlaybookContext<CertExpiryConfig>, phase: Phase, t: Target): Promise<CertInfo | null> {
  let cert: CertInfo | null = null;
  const args = t.kind === "file" ? { file: t.path } : { endpoint: t.name };
  await ctx.step(phase, t.kind === "file" ? "read_certificate" : "tls_certificate", args, async () => {
    try {
      cert = t.kind === "file" ? await readCertFile(t.path) : await fetchPeerCert(t.host, t.port, ctx.config.timeout_ms);
      return { status: "ok", detail: `${cert.daysLeft} days left (until ${cert.validTo}), issuer ${cert.issuer}`, data: cert };
    } catch (err) {
      return { status: "failed", detail: `${targetName(t)}: ${(err as Error).message.slice(0, 300)}` };
    }
  });
  return cert;
}
