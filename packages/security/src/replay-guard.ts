import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import path from "node:path";

/**
 * Remembers which signed commands (task id and nonce) this agent has accepted, in an append-only
 * file under the agent's state dir, so a restart does not make an old command acceptable again.
 * Entries are kept until their command expires (after that, expiry alone refuses it).
 */
export class ReplayGuard {
  private readonly file: string;
  private readonly seen = new Map<string, number>();

  constructor(stateDir: string) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    this.file = path.join(stateDir, "seen-commands.jsonl");
    this.load();
  }

  private load(): void {
    let text = "";
    try {
      text = readFileSync(this.file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    const now = Date.now();
    for (const line of text.split("\n")) {
      if (!line.trim()) continue;
      try {
        const e = JSON.parse(line) as { k: string; exp: number };
        if (e.exp > now) this.seen.set(e.k, e.exp);
      } catch {
        // A torn last line after a crash: skip it.
      }
    }
    // Compact: rewrite without expired entries.
    writeFileSync(this.file, [...this.seen].map(([k, exp]) => JSON.stringify({ k, exp }) + "\n").join(""), { mode: 0o600 });
  }

  /** True (and recorded, durably) the first time; false when the task id or nonce was seen before. */
  claim(taskId: string, nonce: string, expiresAt: Date, at: Date = new Date()): boolean {
    const keys = [`task:${taskId}`, `nonce:${nonce}`];
    const now = at.getTime();
    if (keys.some((k) => (this.seen.get(k) ?? 0) > now)) return false;
    const exp = expiresAt.getTime();
    // Durable before the command runs: a crash right after must not make it acceptable again.
    const fd = openSync(this.file, "a", 0o600);
    try {
      writeSync(fd, keys.map((k) => JSON.stringify({ k, exp }) + "\n").join(""));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    for (const k of keys) this.seen.set(k, exp);
    return true;
  }
}
