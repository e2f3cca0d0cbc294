import { pino, type DestinationStream, type Logger, type LoggerOptions } from "pino";

export type { Logger };

/** Paths that may hold secrets; pino replaces them with "[redacted]". */
export const REDACT_PATHS = [
  "token",
  "*.token",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "req.headers.authorization",
  "password",
  "*.password",
  "databaseUrl",
  "*.databaseUrl",
  // Supabase keys, agent tokens and webhook secrets, wherever a config or request object is logged.
  "apikey",
  "*.apikey",
  "headers.apikey",
  "req.headers.apikey",
  "anonKey",
  "*.anonKey",
  "p_token",
  "*.p_token",
  "secret",
  "*.secret",
  "CCM_WEBHOOK_TOKEN",
  "*.CCM_WEBHOOK_TOKEN",
  "CCM_ALERTMANAGER_TOKEN",
  "*.CCM_ALERTMANAGER_TOKEN",
  "CCM_GRAFANA_TOKEN",
  "*.CCM_GRAFANA_TOKEN",
  "CCM_ELASTIC_TOKEN",
  "*.CCM_ELASTIC_TOKEN",
  "CCM_API_TOKEN",
  "*.CCM_API_TOKEN",
  "CCM_GRAFANA_HMAC_SECRET",
  "*.CCM_GRAFANA_HMAC_SECRET",
  "SUPABASE_SERVICE_ROLE_KEY",
  "*.SUPABASE_SERVICE_ROLE_KEY",
  "DATABASE_URL",
  "*.DATABASE_URL",
];

/** One root logger per app: JSON to stdout (or `destination`), secrets redacted. */
export function createLogger(
  name: string,
  options: { level?: string; destination?: DestinationStream } = {},
): Logger {
  const opts: LoggerOptions = {
    name,
    level: options.level ?? process.env.CCM_LOG_LEVEL ?? "info",
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return options.destination ? pino(opts, options.destination) : pino(opts);
}

/** A logger that writes nothing, for tests and library defaults. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
