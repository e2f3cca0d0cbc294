import http from "node:http";
import type { Pool } from "@ccm/store";
import { postJson } from "./http-client.ts";
import { BENCH_TOKEN, WEBHOOK_PATH } from "./hub-server.ts";
import { webhookBody } from "./payload.ts";
import { preciseWallClock, sleep } from "./stats.ts";

export interface ClaimSamples {
  /** ccm.alerts.received_at → ccm.runs.claimed_at, both on the database clock. */
  receivedToClaimedMs: number[];
  /** Client sends the POST → runs.claimed_at (host clock = DB clock, same machine). */
  sentToClaimedMs: number[];
  /** Sampled runs not claimed within 15 s. */
  unclaimed: number;
  /** Webhooks absorbed into the host's still-active previous task (not samples). */
  absorbed: number;
}

export interface SampleSpec {
  hubUrl: string;
  hosts: readonly string[];
  /** Fingerprint prefix, unique per case so every alert is a new task. */
  tag: string;
  warmup: number;
  samples: number;
  gapMs: () => number;
}

/**
 * One single-alert webhook at a time to a random host, `gapMs()` apart; then read when each run
 * was claimed. Warm-up alerts are sent the same way and not counted.
 */
export async function sampleClaimLatency(pool: Pool, spec: SampleSpec): Promise<ClaimSamples> {
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const now = preciseWallClock();
    const sent: Array<{ taskId: string; sentAt: number }> = [];
    let accepted = 0;
    let absorbed = 0;
    for (let i = 0; accepted < spec.warmup + spec.samples; i++) {
      const host = spec.hosts[Math.floor(Math.random() * spec.hosts.length)] as string;
      const body = webhookBody(spec.tag, i, 1, [host]);
      const sentAt = now();
      const res = await postJson(httpAgent, spec.hubUrl + WEBHOOK_PATH, body, BENCH_TOKEN);
      const alert = (JSON.parse(res.body) as { alerts?: Array<{ task_id: string; outcome: string }> }).alerts?.[0];
      // Absorbed: the host's previous alert (same alertname) still has an active task, i.e. it has
      // not been claimed and finished within the gap. Not a sample; counted and reported.
      if (res.status === 200 && alert?.outcome === "absorbed" && absorbed < spec.samples) {
        absorbed++;
        await sleep(spec.gapMs());
        continue;
      }
      if (res.status !== 200 || alert?.outcome !== "created") {
        throw new Error(`webhook not ingested as a new task: HTTP ${res.status} ${res.body.slice(0, 300)}`);
      }
      if (accepted >= spec.warmup) sent.push({ taskId: alert.task_id, sentAt });
      accepted++;
      await sleep(spec.gapMs());
    }

    const ids = sent.map((s) => s.taskId);
    const deadline = Date.now() + 15_000;
    let rows: Array<{ task_id: string; claimed_ms: number; received_to_claimed_ms: number }> = [];
    for (;;) {
      ({ rows } = await pool.query(
        `select r.task_id::text as task_id,
                extract(epoch from r.claimed_at)::float8 * 1000 as claimed_ms,
                extract(epoch from r.claimed_at - a.received_at)::float8 * 1000 as received_to_claimed_ms
           from ccm.runs r join ccm.alerts a on a.task_id = r.task_id
          where r.task_id = any($1::uuid[]) and r.attempt = 1 and r.claimed_at is not null`,
        [ids],
      ));
      if (rows.length >= ids.length || Date.now() > deadline) break;
      await sleep(200);
    }
    const sentAt = new Map(sent.map((s) => [s.taskId, s.sentAt]));
    return {
      receivedToClaimedMs: rows.map((r) => r.received_to_claimed_ms),
      sentToClaimedMs: rows.map((r) => r.claimed_ms - (sentAt.get(r.task_id) ?? Number.NaN)),
      unclaimed: ids.length - rows.length,
      absorbed,
    };
  } finally {
    httpAgent.destroy();
  }
}
