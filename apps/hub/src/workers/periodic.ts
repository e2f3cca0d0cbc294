import type { Logger } from "@ccm/logger";

export interface PeriodicWorker {
  /** Stop the timer and wait for a tick in progress. */
  stop(): Promise<void>;
}

/**
 * Run `tick` every `intervalMs`, never two at once, never crashing the hub: a failed tick is
 * logged with `failure` and the next one tries again. `firstAfterMs` runs one early tick.
 */
export function startPeriodic(
  log: Logger,
  failure: string,
  intervalMs: number,
  tick: () => Promise<void>,
  options: { firstAfterMs?: number } = {},
): PeriodicWorker {
  let running: Promise<void> | undefined;
  const run = () => {
    if (running) return;
    running = tick()
      .catch((err: unknown) => log.error({ err }, failure))
      .finally(() => (running = undefined));
  };
  const timer = setInterval(run, intervalMs);
  timer.unref();
  const first = options.firstAfterMs === undefined ? undefined : setTimeout(run, options.firstAfterMs);
  first?.unref();
  return {
    async stop() {
      clearInterval(timer);
      if (first) clearTimeout(first);
      await running;
    },
  };
}
