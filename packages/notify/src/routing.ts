import type { PagerdutyRoute, SlackRoute } from "./config.ts";

/** The values a route's `match` is compared with: the task's labels plus host and alertname. */
export type RouteSubject = Record<string, string | undefined>;

function matches(match: Record<string, string>, subject: RouteSubject): boolean {
  return Object.entries(match).every(([k, v]) => subject[k] === v);
}

/** First Slack route whose match holds, else the default channel. */
export function slackChannelFor(subject: RouteSubject, routes: SlackRoute[], fallback: string): string {
  return routes.find((r) => matches(r.match, subject))?.channel ?? fallback;
}

/** First PagerDuty route whose match holds, else the default key (undefined = paging not configured). */
export function routingKeyFor(subject: RouteSubject, routes: PagerdutyRoute[], fallback: string | undefined): string | undefined {
  return routes.find((r) => matches(r.match, subject))?.routing_key ?? fallback;
}
