import { appendFile, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Journal } from "./journal.ts";
import { acquireInstanceLock, AlreadyRunningError } from "./instance-lock.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ccm-journal-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("Journal", () => {
  it("reports runs started and never closed, survives a torn last line, and compacts", async () => {
    const j = new Journal(dir);
    await j.compact();
    await j.append({ event: "started", runId: "a", playbook: "disk-full" });
    await j.append({ event: "started", runId: "b", playbook: "disk-full" });
    await j.append({ event: "finished", runId: "a" });
    await appendFile(path.join(dir, "journal.jsonl"), '{"event":"start'); // killed mid-write
    expect((await j.openRuns()).map((e) => e.runId)).toEqual(["b"]);
    await j.compact();
    const lines = (await readFile(path.join(dir, "journal.jsonl"), "utf8")).trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string).runId).toBe("b");
  });
});

describe("instance lock", () => {
  it("a second holder is refused while the first lives; a stale lock is taken over", async () => {
    const first = await acquireInstanceLock(dir);
    // Same process id would be "us"; simulate another live process with pid 1.
    await first.release();
    await import("node:fs/promises").then((fs) => fs.writeFile(path.join(dir, "agent.pid"), "1\n"));
    await expect(acquireInstanceLock(dir)).rejects.toBeInstanceOf(AlreadyRunningError);
    // A pid that cannot exist: stale.
    await import("node:fs/promises").then((fs) => fs.writeFile(path.join(dir, "agent.pid"), "4194999\n"));
    const again = await acquireInstanceLock(dir);
    await again.release();
  });
});
