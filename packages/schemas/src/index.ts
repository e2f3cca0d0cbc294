export {
  alertmanagerAlertSchema,
  alertmanagerWebhookSchema,
  type AlertmanagerAlert,
  type AlertmanagerWebhook,
} from "./alertmanager.ts";
export { labelFingerprint, normalizedAlertSchema, type NormalizedAlert } from "./normalized-alert.ts";
export { ConfigError, parseConfigOrThrow } from "./config-error.ts";
export { readSecretFile, readSecretFileVar, withSecretFiles, type SecretFileOptions } from "./secret-file.ts";
export { grafanaAlertSchema, grafanaWebhookSchema, type GrafanaAlert, type GrafanaWebhook } from "./grafana.ts";
export { elasticAlertSchema, elasticSummarySchema, type ElasticAlert, type ElasticSummary } from "./elastic.ts";
export {
  genericSourceSchema,
  sourceNameSchema,
  sourcesFileSchema,
  type GenericSource,
  type SourcesFile,
} from "./generic-source.ts";
