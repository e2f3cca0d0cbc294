import { readFile, readdir, stat } from "node:fs/promises";
import { errnoCode } from "./errno.ts";

export interface UnreadableProcess {
  pid: number;
  /** From /proc/<pid>/comm when readable, to tell an operator which program hid its files. */
  command: string | null;
  code: string;
}

export interface OpenFiles {
  /** `dev:ino` of every file any process holds open. */
  inodes: Set<string>;
  processes: number;
  /** Processes whose open files could not be listed; non-empty means the check is incomplete. */
  unreadable: UnreadableProcess[];
  complete: boolean;
  /** Unreadable processes the operator listed in ignore_unreadable_processes; recorded, not blocking. */
  ignored?: UnreadableProcess[];
}

// These mean the process (or the fd) went away while we looked: nothing is hidden from us.
const GONE = new Set(["ENOENT", "ESRCH"]);
const STAT_CHUNK = 256;

/** The key `scanOpenFiles` uses for a file. */
export function inodeKey(st: { dev: number; ino: number }): string {
  return `${st.dev}:${st.ino}`;
}

async function command(pid: number): Promise<string | null> {
  return readFile(`/proc/${pid}/comm`, "utf8").then(
    // A process names itself: keep only printable ASCII before it reaches a summary.
    (s) => s.trim().replace(/[^\x20-\x7e]/g, "?"),
    () => null,
  );
}

/**
 * Every file held open by any process, from the fd links in /proc/<pid>/fd. A file a process still
 * writes must never be removed (its space would not even be freed). If any process's fds cannot be
 * read (not root, hidepid, a protected process), the result says so and callers must not act.
 */
export async function scanOpenFiles(): Promise<OpenFiles> {
  const inodes = new Set<string>();
  const unreadable: UnreadableProcess[] = [];
  let processes = 0;
  const pids = (await readdir("/proc")).filter((n) => /^[0-9]+$/.test(n)).map(Number);
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = await readdir(`/proc/${pid}/fd`);
    } catch (err) {
      if (!GONE.has(errnoCode(err))) unreadable.push({ pid, command: await command(pid), code: errnoCode(err) });
      continue;
    }
    processes++;
    let failed: string | null = null;
    for (let i = 0; i < fds.length; i += STAT_CHUNK) {
      await Promise.all(
        fds.slice(i, i + STAT_CHUNK).map(async (fd) => {
          try {
            // stat follows the fd's magic link to the open file itself, even a deleted one.
            inodes.add(inodeKey(await stat(`/proc/${pid}/fd/${fd}`)));
          } catch (err) {
            if (!GONE.has(errnoCode(err))) failed ??= errnoCode(err);
          }
        }),
      );
    }
    if (failed) unreadable.push({ pid, command: await command(pid), code: failed });
  }
  return { inodes, processes, unreadable, complete: unreadable.length === 0 };
}

/** "pid 1 (process_api): EACCES, pid 812 (java): EACCES and 3 more" */
export function describeUnreadable(unreadable: readonly UnreadableProcess[], max = 5): string {
  const shown = unreadable
    .slice(0, max)
    .map((u) => `pid ${u.pid}${u.command ? ` (${u.command})` : ""}: ${u.code}`)
    .join(", ");
  return unreadable.length > max ? `${shown} and ${unreadable.length - max} more` : shown;
}

/**
 * Accept unreadable processes whose command the operator listed (`ignore_unreadable_processes`),
 * e.g. a container runtime's init that hides its fds even from root. They are kept in `ignored` so
 * the step records exactly which processes were not checked.
 */
export function applyIgnored(open: OpenFiles, ignoreCommands: readonly string[]): OpenFiles {
  if (ignoreCommands.length === 0 || open.unreadable.length === 0) return open;
  const ignored = open.unreadable.filter((u) => u.command !== null && ignoreCommands.includes(u.command));
  const unreadable = open.unreadable.filter((u) => !ignored.includes(u));
  return { ...open, unreadable, ignored, complete: unreadable.length === 0 };
}
