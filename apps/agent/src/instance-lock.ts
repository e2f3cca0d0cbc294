import { mkdir, open, readFile, unlink } from "node:fs/promises";
import path from "node:path";

/** A second agent on the same host (same state folder) refuses to start. */
export class AlreadyRunningError extends Error {
  override readonly name = "AlreadyRunningError";
  constructor(
    readonly lockPath: string,
    readonly pid: number,
  ) {
    super(`another ccm agent (pid ${pid}) already runs with state folder ${path.dirname(lockPath)}; refusing to start a second one`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Take `<stateDir>/agent.pid` exclusively (O_EXCL). A lock left by a dead process (SIGKILL, power
 * loss) is taken over; one held by a live process makes this throw AlreadyRunningError.
 */
export async function acquireInstanceLock(stateDir: string): Promise<{ release(): Promise<void> }> {
  await mkdir(stateDir, { recursive: true, mode: 0o750 });
  const lockPath = path.join(stateDir, "agent.pid");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(lockPath, "wx", 0o640);
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      return {
        async release() {
          const owner = Number((await readFile(lockPath, "utf8").catch(() => "")).trim());
          if (owner === process.pid) await unlink(lockPath).catch(() => undefined);
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const pid = Number((await readFile(lockPath, "utf8").catch(() => "")).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new AlreadyRunningError(lockPath, pid);
      }
      // Stale: its owner is gone.
      await unlink(lockPath).catch(() => undefined);
    }
  }
  throw new Error(`could not take the agent lock ${lockPath}`);
}
