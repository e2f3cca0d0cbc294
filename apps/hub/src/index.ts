export { createHubApp, type HubAppDeps } from "./app.ts";
export { hubEnvSchema, parseHubConfig, type HubConfig } from "./config.ts";
export { RequestRejected } from "./http-errors.ts";
export { startHub, type RunningHub } from "./server.ts";
export { normalizeAlertmanager } from "./webhooks/alertmanager.ts";
