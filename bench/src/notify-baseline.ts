import pg from "pg";
import { sleep } from "./stats.ts";

/**
 * The raw wake-up CCM is built on: `select pg_notify(...)` on one connection until a LISTENing
 * connection receives it, with `listeners` connections listening (each on its own channel, one
 * picked at random per sample) like one per agent.
 */
export async function notifyRoundTrips(databaseUrl: string, listeners: number, samples: number, warmup: number, gapMs: () => number): Promise<number[]> {
  const sender = new pg.Client({ connectionString: databaseUrl, application_name: "ccm-bench-notify" });
  const clients: pg.Client[] = [];
  let waiting: ((receivedAt: number) => void) | undefined;
  try {
    await sender.connect();
    for (let i = 0; i < listeners; i++) {
      const c = new pg.Client({ connectionString: databaseUrl, application_name: "ccm-bench-listen" });
      clients.push(c);
      await c.connect();
      c.on("notification", () => waiting?.(performance.now()));
      await c.query(`listen bench_wake_${i}`);
    }
    const out: number[] = [];
    for (let i = 0; i < warmup + samples; i++) {
      const channel = `bench_wake_${Math.floor(Math.random() * listeners)}`;
      const received = new Promise<number>((resolve) => (waiting = resolve));
      const t0 = performance.now();
      await sender.query("select pg_notify($1, $2)", [channel, String(i)]);
      const t1 = await received;
      if (i >= warmup) out.push(t1 - t0);
      await sleep(gapMs());
    }
    return out;
  } finally {
    waiting = undefined;
    await Promise.all([sender, ...clients].map((c) => c.end().catch(() => undefined)));
  }
}
