/** A send that did not go through. `permanent`: retrying cannot help (bad channel, bad key, bad payload). */
export class DeliveryError extends Error {
  override readonly name = "DeliveryError";
  readonly permanent: boolean;
  /** The receiver asked us to wait this long (Slack 429 Retry-After). */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options: { permanent: boolean; retryAfterMs?: number; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.permanent = options.permanent;
    this.retryAfterMs = options.retryAfterMs;
  }
}
