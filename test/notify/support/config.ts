import { notifyEnvSchema, type NotifyConfig } from "@ccm/notify";

/** Notification config for tests: receivers on 127.0.0.1, short windows and backoff. */
export function testNotifyConfig(slackUrl: string, pdUrl: string, env: Record<string, string> = {}): NotifyConfig {
  return notifyEnvSchema.parse({
    CCM_SLACK_BOT_TOKEN: "xoxb-test-token",
    CCM_SLACK_API_URL: `${slackUrl}/api/`,
    CCM_SLACK_DEFAULT_CHANNEL: "#ccm",
    CCM_SLACK_MIN_INTERVAL_MS: "0",
    CCM_SLACK_COALESCE_WINDOW_MS: "0",
    CCM_PAGERDUTY_URL: pdUrl,
    CCM_PAGERDUTY_ROUTING_KEY: "R0UTINGKEY000000000000000000000",
    CCM_NOTIFY_POLL_MS: "50",
    CCM_NOTIFY_RETRY_BASE_MS: "50",
    CCM_NOTIFY_RETRY_MAX_MS: "400",
    CCM_NOTIFY_LEASE_S: "30",
    ...env,
  });
}
