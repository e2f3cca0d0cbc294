import { appendFile, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";

export type JournalEvent = "started" | "finished" | "released" | "lost";

export interface JournalEntry {
  at: string;
  event: JournalEvent;
  runId: string;
  taskId?: string;
  playbook?: string;
  detail?: string;
}

/**
 * The agent's local record of what it is doing (`<stateDir>/journal.jsonl`), written before a
 * playbook acts. After a crash or restart, runs that were started but never closed are the ones
 * the agent must report, even if the database was unreachable when it died.
 */
export class Journal {
  private readonly file: string;
  constructor(stateDir: string) {
    this.file = path.join(stateDir, "journal.jsonl");
  }

  async append(entry: Omit<JournalEntry, "at">): Promise<void> {
    await appendFile(this.file, JSON.stringify({ at: new Date().toISOString(), ...entry }) + "\n", { mode: 0o640 });
  }

  /** Runs started and not closed, read from the file (a torn last line is ignored). */
  async openRuns(): Promise<JournalEntry[]> {
    const text = await readFile(this.file, "utf8").catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return "";
      throw err;
    });
    const open = new Map<string, JournalEntry>();
    for (const line of text.split("\n")) {
      if (!line.trim()) continue;
      let e: JournalEntry;
      try {
        e = JSON.parse(line) as JournalEntry;
      } catch {
        continue;
      }
      if (e.event === "started") open.set(e.runId, e);
      else open.delete(e.runId);
    }
    return [...open.values()];
  }

  /** Rewrite the file keeping only still-open runs, so it never grows without bound. */
  async compact(): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    const open = await this.openRuns();
    const tmp = `${this.file}.tmp`;
    await writeFile(tmp, open.map((e) => JSON.stringify(e) + "\n").join(""), { mode: 0o640 });
    await rename(tmp, this.file);
  }
}
