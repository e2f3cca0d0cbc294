/** The database could not be reached (refused, reset, timed out, shutting down). Callers retry. */
export class DatabaseUnavailableError extends Error {
  override readonly name = "DatabaseUnavailableError";
  readonly code: string | undefined;
  constructor(message: string, options: { cause?: unknown; code?: string } = {}) {
    super(message, { cause: options.cause });
    this.code = options.code;
  }
}

/** A migration file failed to apply; nothing of it was committed. */
export class MigrationError extends Error {
  override readonly name = "MigrationError";
  readonly file: string;
  constructor(file: string, options: { cause?: unknown }) {
    super(`migration ${file} failed: ${errorMessage(options.cause)}`, { cause: options.cause });
    this.file = file;
  }
}

const CONNECTION_ERROR_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
  "08000",
  "08001",
  "08003",
  "08004",
  "08006",
  "53300", // too_many_connections
]);

const CONNECTION_ERROR_MESSAGES = [
  "Connection terminated",
  "timeout exceeded when trying to connect",
  "Client has encountered a connection error",
  "Connection ended unexpectedly",
  "the database system is starting up",
  "the database system is shutting down",
];

/** True when `err` means "could not talk to Postgres" rather than "Postgres said no". */
export function isConnectionError(err: unknown): boolean {
  if (err instanceof DatabaseUnavailableError) return true;
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && CONNECTION_ERROR_CODES.has(code)) return true;
  if (err instanceof AggregateError && err.errors.some(isConnectionError)) return true;
  return CONNECTION_ERROR_MESSAGES.some((m) => err.message.includes(m));
}

/** Wrap connection failures as DatabaseUnavailableError; rethrow everything else untouched. */
export function classifyDatabaseError(err: unknown): unknown {
  if (isConnectionError(err) && !(err instanceof DatabaseUnavailableError)) {
    const code = (err as { code?: unknown }).code;
    return new DatabaseUnavailableError("database unavailable", {
      cause: err,
      code: typeof code === "string" ? code : undefined,
    });
  }
  return err;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
