import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** The CLI run from source, as `pnpm ccm` does. */
export const CLI = path.join(REPO_ROOT, "apps/cli/src/main.ts");

export interface Proc {
  child: ChildProcess;
  /** Last 2,000 characters of stderr (and of stdout when `captureStdout`), for error messages. */
  tail(): string;
  exited: Promise<void>;
}

/** A `node` child in the repository root with extra environment; stdout is discarded unless captured. */
export function spawnNode(args: string[], env: Record<string, string>, captureStdout = false): Proc {
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", captureStdout ? "pipe" : "ignore", "pipe"],
  });
  let out = "";
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-2000));
  child.stderr?.on("data", keep);
  child.stdout?.on("data", keep);
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return { child, tail: () => out, exited };
}

export function isRunning(p: Proc): boolean {
  return p.child.exitCode === null && p.child.signalCode === null;
}

/** The pid of a child that must still be running, else an error with its output. */
export function alivePid(p: Proc, what: string): number {
  if (!isRunning(p) || p.child.pid === undefined) {
    throw new Error(`${what} exited (${p.child.exitCode ?? p.child.signalCode}): ${p.tail()}`);
  }
  return p.child.pid;
}

/** SIGTERM, then SIGKILL after 5 s; resolves once the child is gone. */
export async function stopChild(p: Proc): Promise<void> {
  if (!isRunning(p)) return;
  p.child.kill("SIGTERM");
  const timer = setTimeout(() => p.child.kill("SIGKILL"), 5_000);
  await p.exited;
  clearTimeout(timer);
}
