import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Logger } from "@ccm/logger";
import { DatabaseUnavailableError } from "@ccm/store";

/** A client error with a JSON reason; never retried by Alertmanager (4xx). */
export class RequestRejected extends HTTPException {
  readonly reason: string;
  readonly details: unknown;
  constructor(status: ContentfulStatusCode, reason: string, details?: unknown) {
    super(status, { message: reason });
    this.reason = reason;
    this.details = details;
  }
}

/** Too much at once (in-flight limit, statement timeout): 503 + Retry-After, so senders retry later. */
export class ServiceOverloaded extends RequestRejected {
  readonly retryAfterS: number;
  constructor(reason: string, retryAfterS = 5) {
    super(503, reason);
    this.retryAfterS = retryAfterS;
  }
}

/** The one place errors become HTTP answers; internals never leak to the caller. */
export function errorHandler(log: Logger) {
  return (err: Error, c: Context) => {
    if (err instanceof RequestRejected) {
      if (err instanceof ServiceOverloaded) c.header("Retry-After", String(err.retryAfterS));
      return c.json({ error: err.reason, ...(err.details === undefined ? {} : { details: err.details }) }, err.status);
    }
    if (err instanceof DatabaseUnavailableError) {
      log.warn({ err: { name: err.name, code: err.code }, path: c.req.path }, "database unavailable; answering 503");
      c.header("Retry-After", "5");
      return c.json({ error: "database unavailable, retry later" }, 503);
    }
    if (err instanceof HTTPException) {
      return c.json({ error: err.message || "request rejected" }, err.status);
    }
    log.error({ err, path: c.req.path }, "unhandled error");
    return c.json({ error: "internal error" }, 500);
  };
}
