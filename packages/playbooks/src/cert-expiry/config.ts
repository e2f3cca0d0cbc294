import { z } from "zod";
import { absPath, safeName } from "../actions/config.ts";

/** Alert names (blackbox exporter, x509-certificate-exporter, cert-manager, common custom rules) this playbook answers. */
export const CERT_EXPIRY_ALERTNAMES: readonly string[] = [
  "SSLCertExpiringSoon",
  "SslCertificateWillExpireSoon",
  "BlackboxSslCertificateWillExpireSoon",
  "BlackboxSslCertificateExpired",
  "X509CertificateExpiration",
  "CertificateExpiration",
  "CertificateExpiringSoon",
  "TLSCertificateExpiringSoon",
  "CertManagerCertExpirySoon",
];

/** Labels that may name a certificate file, first present wins (x509-certificate-exporter uses `filepath`). */
export const CERT_FILE_LABELS: readonly string[] = ["cert_file", "filepath", "file", "path"];
/** Labels that may name a TLS endpoint (blackbox: `instance` is the probed target). */
export const ENDPOINT_LABELS: readonly string[] = ["endpoint", "target", "instance"];

/** "host:port" or "[v6]:port" (a scheme and path, as blackbox labels carry them, are stripped). */
export function parseEndpoint(text: string): { host: string; port: number } | null {
  const bare = text.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").replace(/\/.*$/, "");
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(bare) ?? /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+))$/.exec(bare);
  if (!m) return null;
  const port = m[3] ? Number(m[3]) : 443;
  if (port < 1 || port > 65535) return null;
  return { host: (m[1] ?? m[2]) as string, port };
}

/** `playbooks.cert-expiry` in the agent config. */
export const certExpiryConfigSchema = z
  .object({
    // Certificate files (PEM) checked when the alert names none.
    files: z.array(absPath).default([]),
    // A label may name a certificate file only if its real path is inside one of these (or is one of `files`).
    roots: z.array(absPath).default([]),
    // TLS endpoints ("host:port") checked when the alert names none; a label may only pick one of these.
    endpoints: z.array(z.string().refine((e) => parseEndpoint(e) !== null, { error: "must be host:port" })).default([]),
    // A certificate with fewer days left than this is expiring.
    warn_days: z.number().int().min(0).max(3_650).default(14),
    // The fix: the name of an allow-listed command in actions.commands (e.g. certbot renew). Absent:
    // diagnose and escalate only.
    renew_command: safeName.optional(),
    // Run after a successful renewal (e.g. reload the web server), also a name in actions.commands.
    reload_command: safeName.optional(),
    // TLS handshake timeout per endpoint.
    timeout_ms: z.number().int().min(100).max(60_000).default(5_000),
    // After renewing, how long an endpoint may take to present the new certificate.
    verify_within_ms: z.number().int().min(0).max(600_000).default(10_000),
  })
  .strict();
export type CertExpiryConfig = z.infer<typeof certExpiryConfigSchema>;
