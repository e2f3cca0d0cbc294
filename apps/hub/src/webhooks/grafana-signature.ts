import { createHmac, timingSafeEqual } from "node:crypto";
import type { Context } from "hono";
import { RequestRejected } from "../http-errors.ts";

export interface GrafanaSignatureConfig {
  secret: string;
  /** Grafana's default is X-Grafana-Alerting-Signature. */
  signatureHeader: string;
  /** Set when the contact point has a "Timestamp Header": then it is required and signed. */
  timestampHeader: string | undefined;
  maxSkewS: number;
}

/** HMAC-SHA256 as Grafana computes it: over "<timestamp>:<body>" with a timestamp header, else over the body. */
export function grafanaSignature(secret: string, body: Buffer, timestamp?: string): string {
  const h = createHmac("sha256", secret);
  if (timestamp !== undefined) h.update(`${timestamp}:`);
  return h.update(body).digest("hex");
}

/** 401 unless the request carries a valid, fresh Grafana signature. */
export function verifyGrafanaSignature(c: Context, body: Buffer, config: GrafanaSignatureConfig, nowMs = Date.now()): void {
  const given = (c.req.header(config.signatureHeader) ?? "").trim().toLowerCase();
  if (given === "") throw new RequestRejected(401, `missing ${config.signatureHeader} signature header`);
  let timestamp: string | undefined;
  if (config.timestampHeader) {
    timestamp = (c.req.header(config.timestampHeader) ?? "").trim();
    if (!/^\d{1,13}$/.test(timestamp)) {
      throw new RequestRejected(401, `missing or malformed ${config.timestampHeader} timestamp header`);
    }
    // Grafana sends Unix seconds; tolerate milliseconds from a hand-rolled sender.
    const seconds = timestamp.length > 11 ? Number(timestamp) / 1000 : Number(timestamp);
    if (Math.abs(nowMs / 1000 - seconds) > config.maxSkewS) {
      throw new RequestRejected(401, `stale signature: timestamp is more than ${config.maxSkewS} s from the hub's clock`);
    }
  }
  const want = Buffer.from(grafanaSignature(config.secret, body, timestamp), "utf8");
  const got = Buffer.from(given, "utf8");
  if (got.length !== want.length || !timingSafeEqual(got, want)) {
    throw new RequestRejected(401, `wrong ${config.signatureHeader} signature`);
  }
}
