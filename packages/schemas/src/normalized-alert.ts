import { createHash } from "node:crypto";
import { z } from "zod";

/** What every source is turned into before it reaches ccm.ingest_alerts. */
export const normalizedAlertSchema = z.object({
  fingerprint: z.string().min(1),
  status: z.enum(["firing", "resolved"]),
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()),
  startsAt: z.string().nullable(),
  endsAt: z.string().nullable(),
  generatorURL: z.string().nullable(),
  raw: z.unknown(),
});
export type NormalizedAlert = z.infer<typeof normalizedAlertSchema>;

/** A stable fingerprint of a label set (sorted name=value pairs), for sources that send none. */
export function labelFingerprint(labels: Record<string, string>): string {
  const h = createHash("sha256");
  for (const key of Object.keys(labels).sort()) {
    h.update(key).update("\u0000").update(labels[key] ?? "").update("\u0001");
  }
  return h.digest("hex").slice(0, 16);
}
