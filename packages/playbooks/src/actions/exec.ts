import { execa } from "execa";

export interface ExecOptions {
  timeoutMs: number;
  /** Bytes of stdout/stderr kept (the tail); the process is not killed for writing more. */
  outputCapBytes: number;
  signal: AbortSignal;
  /** Written to stdin, then closed. */
  input?: string;
  env?: Record<string, string>;
}

export interface ExecResult {
  argv: string[];
  exitCode: number | null;
  timedOut: boolean;
  /** Killed by this signal (timeout, cancellation), if any. */
  signal: string | null;
  /** The command could not be started (ENOENT, EACCES). */
  failedToStart: string | null;
  stdoutTail: string;
  stderrTail: string;
  durationMs: number;
}

/** Keep the last `cap` bytes of a growing output without holding all of it. */
class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly cap: number) {}
  push(b: Buffer): void {
    this.chunks.push(b);
    this.size += b.length;
    while (this.size - (this.chunks[0]?.length ?? 0) >= this.cap && this.chunks.length > 1) {
      this.size -= (this.chunks.shift() as Buffer).length;
    }
  }
  toString(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.cap)).toString("utf8");
  }
}

/**
 * Run one process: an argument array (never a shell), a timeout, cancellation, capped output,
 * `reject: false`. Every process CCM starts on a host goes through here.
 */
export async function runCommand(argv: readonly string[], opts: ExecOptions): Promise<ExecResult> {
  const [file, ...args] = argv;
  if (!file) throw new TypeError("runCommand needs a command");
  const t0 = performance.now();
  const out = new Tail(opts.outputCapBytes);
  const err = new Tail(opts.outputCapBytes);
  const child = execa(file, args, {
    shell: false,
    reject: false,
    timeout: opts.timeoutMs,
    cancelSignal: opts.signal,
    forceKillAfterDelay: 2_000,
    buffer: false,
    stdin: opts.input === undefined ? "ignore" : "pipe",
    stdout: "pipe",
    stderr: "pipe",
    env: opts.env,
    extendEnv: true,
    windowsHide: true,
  });
  child.stdout?.on("data", (b: Buffer) => out.push(b));
  child.stderr?.on("data", (b: Buffer) => err.push(b));
  if (opts.input !== undefined && child.stdin) {
    child.stdin.on("error", () => undefined); // the command may exit without reading its input
    child.stdin.end(opts.input);
  }
  const r = await child;
  const code = (r as { code?: string }).code;
  const failedToStart = r.exitCode === undefined && code && /^E[A-Z]+$/.test(code) ? code : null;
  return {
    argv: [...argv],
    exitCode: r.exitCode ?? null,
    timedOut: r.timedOut,
    signal: r.signal ?? null,
    failedToStart,
    stdoutTail: out.toString(),
    stderrTail: err.toString(),
    durationMs: performance.now() - t0,
  };
}

/** One line for the audit: how the command ended (with `timeoutMs`, a timeout says after how long). */
export function describeExit(r: ExecResult, timeoutMs?: number): string {
  if (r.failedToStart) return `could not start ${r.argv[0]} (${r.failedToStart})`;
  if (r.timedOut) return timeoutMs === undefined ? `timed out` : `timed out after ${timeoutMs} ms`;
  if (r.signal) return `killed by ${r.signal}`;
  return `exit ${r.exitCode}`;
}

/** The last `bytes` of a command's output for run_steps.output_tail. */
export function outputTail(r: ExecResult, bytes = 2_000): string {
  const s = (r.stdoutTail + (r.stderrTail ? `\n[stderr]\n${r.stderrTail}` : "")).trim();
  return s.length > bytes ? s.slice(s.length - bytes) : s;
}
