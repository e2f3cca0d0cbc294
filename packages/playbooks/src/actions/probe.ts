import net from "node:net";
import type { ProbeConfig } from "./config.ts";

export interface ProbeResult {
  ok: boolean;
  detail: string;
  status?: number;
  durationMs: number;
}

/** GET the URL; healthy when the status is one of `expect`. Redirects are not followed. */
export async function httpProbe(url: string, expect: readonly number[], timeoutMs: number, signal: AbortSignal): Promise<ProbeResult> {
  const t0 = performance.now();
  try {
    const res = await fetch(url, { redirect: "manual", signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) });
    await res.body?.cancel().catch(() => undefined);
    const ok = expect.includes(res.status);
    return { ok, status: res.status, detail: `HTTP ${res.status}${ok ? "" : ` (expected ${expect.join("/")})`}`, durationMs: performance.now() - t0 };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    return { ok: false, detail: `no answer from ${url} (${cause})`, durationMs: performance.now() - t0 };
  }
}

/** Open a TCP connection and close it. */
export function tcpProbe(host: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<ProbeResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (ok: boolean, detail: string) => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      sock.destroy();
      resolve({ ok, detail, durationMs: performance.now() - t0 });
    };
    const onAbort = () => done(false, "cancelled");
    const timer = setTimeout(() => done(false, `no connection to ${host}:${port} within ${timeoutMs} ms`), timeoutMs);
    signal.addEventListener("abort", onAbort, { once: true });
    sock.once("connect", () => done(true, `${host}:${port} accepts connections`));
    sock.once("error", (e: NodeJS.ErrnoException) => done(false, `${host}:${port}: ${e.code ?? e.message}`));
  });
}

export function probe(p: ProbeConfig, timeoutMs: number, signal: AbortSignal): Promise<ProbeResult> {
  return "http" in p ? httpProbe(p.http, p.expect_status, timeoutMs, signal) : tcpProbe(p.tcp.host, p.tcp.port, timeoutMs, signal);
}

/** Probe until healthy or `withinMs` passes (a restarted service needs a moment to listen). */
export async function probeUntil(p: ProbeConfig, withinMs: number, signal: AbortSignal, everyMs = 250): Promise<ProbeResult & { attempts: number }> {
  const deadline = Date.now() + withinMs;
  let attempts = 0;
  for (;;) {
    attempts++;
    const r = await probe(p, Math.min(5_000, Math.max(500, deadline - Date.now())), signal);
    if (r.ok || Date.now() >= deadline || signal.aborted) return { ...r, attempts };
    await new Promise((res) => setTimeout(res, everyMs));
  }
}
