import { createHash, randomBytes } from "node:crypto";

/** A new agent token: 256 random bits, base64url (43 characters). Shown once, never stored. */
export function agentToken(): string {
  return randomBytes(32).toString("base64url");
}

/** What the database stores and compares: hex sha256, as ccm.token_hash() computes it. */
export function tokenHash(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}
