import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import net from "node:net";
import tls from "node:tls";

export interface CertInfo {
  source: string;
  subject: string;
  issuer: string;
  /** subjectAltName as node prints it: "DNS:example.com, IP Address:127.0.0.1". */
  sans: string[];
  validFrom: string;
  validTo: string;
  daysLeft: number;
  fingerprint256: string;
}

function info(source: string, cert: X509Certificate): CertInfo {
  const validTo = new Date(cert.validTo);
  return {
    source,
    subject: cert.subject.replace(/\n/g, ", "),
    issuer: cert.issuer.replace(/\n/g, ", "),
    sans: (cert.subjectAltName ?? "").split(", ").filter(Boolean),
    validFrom: new Date(cert.validFrom).toISOString(),
    validTo: validTo.toISOString(),
    daysLeft: Math.floor((validTo.getTime() - Date.now()) / 86_400_000),
    fingerprint256: cert.fingerprint256,
  };
}

/** The first certificate of a PEM file. */
export async function readCertFile(file: string): Promise<CertInfo> {
  return info(file, new X509Certificate(await readFile(file)));
}

/** The certificate a TLS endpoint presents (not verified: an expired one is exactly what we want to see). */
export function fetchPeerCert(host: string, port: number, timeoutMs: number, servername?: string): Promise<CertInfo> {
  return new Promise((resolve, reject) => {
    // SNI may not be an IP address (RFC 6066); node warns and ignores one.
    const sni = servername ?? (net.isIP(host) ? undefined : host);
    const sock = tls.connect({ host, port, servername: sni, rejectUnauthorized: false, timeout: timeoutMs });
    sock.once("secureConnect", () => {
      const peer = sock.getPeerX509Certificate();
      sock.destroy();
      if (!peer) reject(new Error(`${host}:${port} presented no certificate`));
      else resolve(info(`${host}:${port}`, peer));
    });
    sock.once("timeout", () => {
      sock.destroy();
      reject(new Error(`${host}:${port}: no TLS handshake within ${timeoutMs} ms`));
    });
    sock.once("error", (e) => reject(e));
  });
}
