import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
// Agents keep their lock and journal here, never in the machine's /var/lib/ccm.
const TEST_STATE_DIR = path.join(process.env.CCM_TEST_STATE_ROOT ?? path.join(os.tmpdir(), "ccm-test-state"), String(process.pid));
const CLI = fileURLToPath(new URL("../../apps/cli/src/main.ts", import.meta.url));

export interface CcmProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  exited: Promise<number | string>;
  kill(signal: NodeJS.Signals): void;
}

/** A real `ccm …` process (node + tsx), output captured for assertions and failure messages. */
export function spawnCcm(args: string[], env: Record<string, string | undefined>): CcmProcess {
  const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, CCM_LOG_LEVEL: "debug", CCM_STATE_DIR: TEST_STATE_DIR, CCM_AGENT_METRICS_PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.on("exit", (code, signal) => resolve(code ?? signal ?? "unknown")),
  );
  return { child, output: () => out, exited, kill: (s) => child.kill(s) };
}

/** Run `ccm …` to completion. */
export async function runCcm(args: string[], env: Record<string, string | undefined>): Promise<{ code: number | string; output: string; stdout: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, CCM_STATE_DIR: TEST_STATE_DIR, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | string>((resolve) => child.on("exit", (c, s) => resolve(c ?? s ?? "unknown")));
  return { code, output: stdout + stderr, stdout };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Run `fn` with `procs` stopped (SIGSTOP), then let them go on (SIGCONT), whatever `fn` did. */
export async function withStopped<T>(procs: Iterable<CcmProcess>, fn: () => Promise<T>): Promise<T> {
  const list = [...procs];
  for (const p of list) p.kill("SIGSTOP");
  try {
    return await fn();
  } finally {
    for (const p of list) p.kill("SIGCONT");
  }
}
