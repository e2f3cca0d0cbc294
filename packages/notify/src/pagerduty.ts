import { z } from "zod";
import { DeliveryError } from "./delivery-error.ts";

/** PagerDuty Events API v2 event (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/). */
export const pagerdutyEventSchema = z.object({
  routing_key: z.string().min(1),
  event_action: z.enum(["trigger", "acknowledge", "resolve"]),
  dedup_key: z.string().min(1).max(255),
  payload: z
    .object({
      summary: z.string().min(1).max(1024),
      severity: z.enum(["critical", "error", "warning", "info"]),
      source: z.string().min(1),
      component: z.string().optional(),
      class: z.string().optional(),
      custom_details: z.record(z.string(), z.unknown()).optional(),
    })
    .optional(),
  links: z.array(z.object({ href: z.string(), text: z.string() })).optional(),
  client: z.string().optional(),
});
export type PagerdutyEvent = z.infer<typeof pagerdutyEventSchema>;

/** PagerDuty severities from an alert's `severity` label. */
export function pagerdutySeverity(label: string | undefined): "critical" | "error" | "warning" | "info" {
  switch ((label ?? "").toLowerCase()) {
    case "critical":
    case "page":
    case "emergency":
      return "critical";
    case "warning":
    case "warn":
      return "warning";
    case "info":
    case "informational":
      return "info";
    default:
      return "error";
  }
}

/** POST {baseUrl}/v2/enqueue with plain fetch. 202 = accepted; 400 is permanent; 429/5xx/network retry. */
export async function sendPagerdutyEvent(baseUrl: string, event: PagerdutyEvent, timeoutMs = 10_000): Promise<{ status: number; body: unknown }> {
  const url = `${baseUrl.replace(/\/$/, "")}/v2/enqueue`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(pagerdutyEventSchema.parse(event)),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new DeliveryError(`PagerDuty unreachable: ${(err as Error).message}`, { permanent: false, cause: err });
  }
  const text = await res.text().catch(() => "");
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  if (res.status >= 200 && res.status < 300) return { status: res.status, body };
  const permanent = res.status >= 400 && res.status < 500 && res.status !== 429 && res.status !== 408;
  throw new DeliveryError(`PagerDuty HTTP ${res.status}: ${text.slice(0, 300)}`, { permanent });
}
