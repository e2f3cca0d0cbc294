import pg from "pg";

export interface WakeupSubscription {
  close(): Promise<void>;
}

export interface WakeupHandlers {
  /** A run may be claimable: a NOTIFY arrived, or the subscription (re)connected. */
  onWake(reason: "notify" | "subscribed"): void;
  onError?(err: unknown): void;
}

/**
 * LISTEN on the agent's own channel with a dedicated connection, reconnecting with back-off.
 * A NOTIFY is only a hint: every (re)subscribe also fires onWake, because hints sent while we
 * were disconnected are lost.
 */
export function subscribeWakeups(
  connectionString: string,
  channel: string,
  handlers: WakeupHandlers,
  options: { maxBackoffMs?: number } = {},
): WakeupSubscription {
  if (!/^[a-z0-9_]{1,63}$/.test(channel)) throw new Error(`invalid channel name ${channel}`);
  let closed = false;
  let client: pg.Client | undefined;
  let timer: NodeJS.Timeout | undefined;
  let backoff = 250;
  const maxBackoff = options.maxBackoffMs ?? 10_000;

  const connect = async (): Promise<void> => {
    if (closed) return;
    const c = new pg.Client({ connectionString, application_name: "ccm-agent-listen", connectionTimeoutMillis: 5_000 });
    client = c;
    const retry = (err: unknown) => {
      if (client !== c) return;
      client = undefined;
      c.end().catch(() => undefined);
      if (closed) return;
      handlers.onError?.(err);
      timer = setTimeout(() => void connect(), backoff);
      backoff = Math.min(backoff * 2, maxBackoff);
    };
    c.on("error", retry);
    c.on("end", () => retry(new Error("listen connection ended")));
    c.on("notification", () => handlers.onWake("notify"));
    try {
      await c.connect();
      await c.query(`listen ${channel}`);
      backoff = 250;
      handlers.onWake("subscribed");
    } catch (err) {
      retry(err);
    }
  };
  void connect();

  return {
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
    },
  };
}
