export {
  alertmanagerAlertSchema,
  alertmanagerWebhookSchema,
  type AlertmanagerAlert,
  type AlertmanagerWebhook,
} from "./alertmanager.ts";
export { labelFingerprint, normalizedAlertSchema, type NormalizedAlert } from "./normalized-alert.ts";
export { ConfigError, parseConfigOrThrow } from "./config-error.ts";
