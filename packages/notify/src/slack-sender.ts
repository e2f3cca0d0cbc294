import { ErrorCode, LogLevel, WebClient } from "@slack/web-api";
import { DeliveryError } from "./delivery-error.ts";
import type { SlackMessage } from "./slack-blocks.ts";

// Slack errors that no retry can fix: configuration or payload problems, kept as `failed` for a human.
const PERMANENT_ERRORS = new Set([
  "channel_not_found", "not_in_channel", "is_archived", "invalid_auth", "not_authed", "account_inactive",
  "token_revoked", "token_expired", "no_permission", "missing_scope", "invalid_blocks", "invalid_blocks_format",
  "msg_too_long", "invalid_arguments", "message_not_found", "cant_update_message", "restricted_action",
]);

export interface SlackSenderOptions {
  token: string;
  apiUrl: string;
  /** Minimum gap between two messages to one channel (Slack: about one per second). */
  minIntervalMs: number;
  timeoutMs?: number;
}

export interface PostedMessage {
  channel: string;
  ts: string;
}

/** Posts through the real @slack/web-api client, paced per channel; errors become DeliveryError. */
export class SlackSender {
  private readonly client: WebClient;
  private readonly nextAllowed = new Map<string, number>();

  constructor(private readonly options: SlackSenderOptions) {
    // The outbox owns retries: the client must not sleep on a 429 while we hold a lease, nor retry
    // on its own (a retry it hides from us could double-post). So: no client retries, and a 429
    // rejects at once with Retry-After, which we honour by rescheduling the row and pausing the channel.
    this.client = new WebClient(options.token, {
      slackApiUrl: options.apiUrl,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: options.timeoutMs ?? 10_000,
      // We log each failure with the notification's context; the client's own warnings would repeat them.
      logLevel: LogLevel.ERROR,
    });
  }

  /** Post a message; in a thread when threadTs is set (`broadcast`: also show the reply in the channel). */
  async post(channel: string, message: SlackMessage, threadTs?: string, broadcast = false): Promise<PostedMessage> {
    await this.pace(channel);
    try {
      const base = { channel, text: message.text, blocks: message.blocks as never, unfurl_links: false };
      const res = await this.client.chat.postMessage(
        threadTs ? { ...base, thread_ts: threadTs, reply_broadcast: broadcast } : base,
      );
      if (!res.ts) throw new DeliveryError("Slack answered without a message ts", { permanent: false });
      return { channel: res.channel ?? channel, ts: res.ts };
    } catch (err) {
      throw this.classify(err, channel);
    } finally {
      this.sent(channel);
    }
  }

  async update(channel: string, ts: string, message: SlackMessage): Promise<PostedMessage> {
    await this.pace(channel);
    try {
      const res = await this.client.chat.update({ channel, ts, text: message.text, blocks: message.blocks as never });
      return { channel: res.channel ?? channel, ts: res.ts ?? ts };
    } catch (err) {
      throw this.classify(err, channel);
    } finally {
      this.sent(channel);
    }
  }

  /** Wait until the channel may take another message. */
  private async pace(channel: string): Promise<void> {
    const wait = (this.nextAllowed.get(channel) ?? 0) - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }

  /** The next message to this channel leaves at least minIntervalMs after this one was answered. */
  private sent(channel: string): void {
    this.nextAllowed.set(channel, Math.max(this.nextAllowed.get(channel) ?? 0, Date.now() + this.options.minIntervalMs));
  }

  private classify(err: unknown, channel: string): DeliveryError {
    if (err instanceof DeliveryError) return err;
    const e = err as { code?: string; retryAfter?: number; data?: { error?: string }; statusCode?: number; message?: string };
    switch (e.code) {
      case ErrorCode.RateLimitedError: {
        const ms = Math.max(1, e.retryAfter ?? 1) * 1000;
        this.nextAllowed.set(channel, Math.max(this.nextAllowed.get(channel) ?? 0, Date.now() + ms));
        return new DeliveryError(`Slack rate limited ${channel}; retry after ${ms / 1000} s`, { permanent: false, retryAfterMs: ms, cause: err });
      }
      case ErrorCode.PlatformError: {
        const code = e.data?.error ?? "unknown_error";
        return new DeliveryError(`Slack error ${code}`, { permanent: PERMANENT_ERRORS.has(code), cause: err });
      }
      case ErrorCode.HTTPError: {
        const status = e.statusCode ?? 0;
        return new DeliveryError(`Slack HTTP ${status}`, { permanent: status >= 400 && status < 500 && status !== 408, cause: err });
      }
      default:
        return new DeliveryError(`Slack unreachable: ${e.message ?? String(err)}`, { permanent: false, cause: err });
    }
  }
}
