// Shared by the disk-full tests: real files in a fresh temp folder, and a step recorder that keeps steps in memory.
import { mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { silentLogger } from "@ccm/logger";
import { createHostActions } from "../actions/host-actions.ts";
import { runPlaybook, type EngineResult } from "../engine/run-playbook.ts";
import { engineOptions, memoryHooks } from "../engine/test-support.ts";
import type { Playbook, PlaybookContext, StepOutcome, StepRecorder } from "../types.ts";
import { diskFullConfigSchema, type DiskFullConfig } from "./config.ts";
import { scanOpenFiles, type OpenFiles } from "./open-files.ts";
import type { DiskFullState } from "./playbook.ts";

export const DAY_MS = 86_400_000;
export const OLD = new Date(Date.now() - 30 * DAY_MS);

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "ccm-disk-full-"));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Write `content` (or `bytes` x's) to `p`, creating folders, and back-date it when `mtime` is given. */
export async function file(p: string, content: number | string | Buffer, mtime?: Date): Promise<string> {
  await mkdir(path.dirname(p), { recursive: true });
  await writeFile(p, typeof content === "number" ? "x".repeat(content) : content);
  if (mtime) await utimes(p, mtime, mtime);
  return p;
}

export interface RecordedStep {
  phase: string;
  action: string;
  args: Record<string, unknown>;
  outcome?: StepOutcome;
  error?: unknown;
}

export interface TestRun {
  ctx: PlaybookContext<DiskFullConfig>;
  steps: RecordedStep[];
}

/** A run context over `config` (defaults filled in by the real schema) whose steps land in `steps`. */
export function testRun(
  config: Record<string, unknown>,
  labels: Record<string, string>,
  opts: { dryRun?: boolean; signal?: AbortSignal; afterStep?: (s: RecordedStep) => void } = {},
): TestRun {
  const steps: RecordedStep[] = [];
  const step: StepRecorder = async (phase, action, args, fn) => {
    const s: RecordedStep = { phase, action, args };
    steps.push(s);
    try {
      const outcome = await fn();
      s.outcome = outcome;
      opts.afterStep?.(s);
      return outcome;
    } catch (err) {
      s.error = err;
      throw err;
    }
  };
  const ctx: PlaybookContext<DiskFullConfig> = {
    input: { runId: "run-1", taskId: "task-1", alertname: labels.alertname ?? null, labels, annotations: {} },
    config: diskFullConfigSchema.parse(config),
    dryRun: opts.dryRun ?? false,
    signal: opts.signal ?? new AbortController().signal,
    log: silentLogger(),
    step,
    actions: createHostActions(),
  };
  return { ctx, steps };
}

/**
 * The real /proc scan, minus processes this machine hides even from root (some sandboxes protect their
 * init). Tests with it exercise what the playbook does with the open files it sees; the strict
 * "incomplete means do nothing" policy has its own tests.
 */
export async function scanVisibleOpenFiles(): Promise<OpenFiles> {
  const o = await scanOpenFiles();
  return { ...o, unreadable: [], complete: true };
}

export function stepsOf(steps: RecordedStep[], action: string): RecordedStep[] {
  return steps.filter((s) => s.action === action);
}

/** Run the playbook the way the agent does: under the engine, with a good track record and no rails in the way. */
export function runDiskFull(p: Playbook<DiskFullConfig, DiskFullState>, ctx: PlaybookContext<DiskFullConfig>): Promise<EngineResult> {
  return runPlaybook(p, ctx, memoryHooks(), engineOptions());
}
