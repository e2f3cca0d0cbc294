import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";

export interface LoadSpec {
  url: string;
  token?: string;
  /** Requests in flight at once, one keep-alive connection each. */
  concurrency: number;
  /** Sent but not counted, to warm the JIT, the pools and the connections. */
  warmupMs: number;
  durationMs: number;
  alertsPerRequest: number;
  hosts: string[];
  /** Makes fingerprints unique across runs. */
  tag: string;
}

export interface LoadResult {
  /** Responses completed inside the measured window. */
  completed: number;
  /** Latency of each of them (ms). */
  latenciesMs: number[];
  windowMs: number;
  /** Every response by status, warm-up included (the database holds the warm-up's rows too). */
  statuses: Record<string, number>;
  errors: number;
  firstError?: string;
  /** CPU the load client itself used over the whole run (warm-up included), as % of one core. */
  clientCpuPercent: number;
}

const CHILD = fileURLToPath(new URL("./load-client.ts", import.meta.url));
const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Drive the hub from a separate process, as Alertmanager would: a client in the hub's own process
 * would take event-loop time from the server and lower both numbers.
 */
export function runLoad(spec: LoadSpec, track: (kill: () => void) => () => void): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(CHILD, [], { cwd: REPO_ROOT, execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    const untrack = track(() => child.kill("SIGKILL"));
    let result: LoadResult | undefined;
    child.on("message", (m) => (result = m as LoadResult));
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      untrack();
      if (result) resolve(result);
      else reject(new Error(`load client exited (${code ?? signal}) without a result`));
    });
    child.send(spec);
  });
}
