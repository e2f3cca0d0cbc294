import { createHmac, timingSafeEqual } from "node:crypto";

/** Why a Slack request was refused; `reason` is safe to return to the caller. */
export class SlackSignatureError extends Error {
  override readonly name = "SlackSignatureError";
  constructor(readonly reason: "missing" | "stale" | "mismatch") {
    super(
      reason === "missing"
        ? "missing X-Slack-Signature or X-Slack-Request-Timestamp"
        : reason === "stale"
          ? "X-Slack-Request-Timestamp is more than 5 minutes away from now"
          : "X-Slack-Signature does not match",
    );
  }
}

const WINDOW_S = 5 * 60;

/** `v0=` + hex HMAC-SHA256(secret, `v0:{timestamp}:{raw body}`), as Slack signs requests. */
export function slackSignature(secret: string, timestamp: string, rawBody: string): string {
  return `v0=${createHmac("sha256", secret).update(`v0:${timestamp}:${rawBody}`).digest("hex")}`;
}

/** Throws SlackSignatureError unless the request is Slack's, signed within the last 5 minutes. */
export function verifySlackSignature(input: {
  secret: string;
  timestamp: string | undefined;
  signature: string | undefined;
  rawBody: string;
  nowMs?: number;
}): void {
  const { timestamp, signature } = input;
  if (!timestamp || !signature) throw new SlackSignatureError("missing");
  const ts = Number(timestamp);
  const now = Math.floor((input.nowMs ?? Date.now()) / 1000);
  if (!/^\d+$/.test(timestamp) || Math.abs(now - ts) > WINDOW_S) throw new SlackSignatureError("stale");
  const want = Buffer.from(slackSignature(input.secret, timestamp, input.rawBody));
  const got = Buffer.from(signature);
  if (want.length !== got.length || !timingSafeEqual(want, got)) throw new SlackSignatureError("mismatch");
}
