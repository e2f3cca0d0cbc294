import { lstat, rename, symlink, unlink, utimes } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Candidate } from "./find-candidates.ts";
import { inodeKey } from "./open-files.ts";
import { isInside, recheck } from "./recheck.ts";
import { file, OLD, tempDir } from "./test-support.ts";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

const WEEK_AGO = Date.now() - 7 * 86_400_000;

async function candidate(p: string): Promise<Candidate> {
  const st = await lstat(p);
  return { path: p, dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
}

// What happens between the walk and the unlink: each change must stop the action.
describe("recheck", () => {
  const opts = (openInodes = new Set<string>()) => ({ root: dir, olderThanMs: WEEK_AGO, openInodes });

  it("passes an unchanged old file", async () => {
    const c = await candidate(await file(path.join(dir, "a.log.1"), 10, OLD));
    expect(await recheck(c, opts())).toBeNull();
  });

  it("stops when the file was replaced, became a symlink, was touched, vanished or was opened", async () => {
    const p = await file(path.join(dir, "a.log.1"), 10, OLD);
    const c = await candidate(p);

    expect(await recheck(c, opts(new Set([inodeKey(c)])))).toBe("open by a running process");

    await utimes(p, new Date(), new Date());
    expect(await recheck(c, opts())).toBe("was modified recently");

    await unlink(p);
    expect(await recheck(c, opts())).toBe("no longer exists");

    await symlink(await file(path.join(dir, "elsewhere"), 10, OLD), p);
    expect(await recheck(c, opts())).toBe("became a symbolic link");

    await unlink(p);
    await file(p, 10, OLD);
    expect(await recheck(c, opts())).toBe("was replaced by another file since it was found");
  });

  it("stops when a folder on the path was swapped for a symlink to the outside", async () => {
    const inside = path.join(dir, "root/sub");
    const p = await file(path.join(inside, "a.log.1"), 10, OLD);
    const c = await candidate(p);
    const outside = path.join(dir, "outside");
    await rename(inside, outside); // same inode moves out...
    await symlink(outside, inside); // ...and the old path now leads there
    expect(await recheck(c, { ...opts(), root: path.join(dir, "root") })).toBe("now resolves outside its folder");
  });

  it("isInside is strict: not the root, not a sibling with the same prefix", () => {
    expect(isInside("/var/log", "/var/log/a")).toBe(true);
    expect(isInside("/var/log", "/var/log")).toBe(false);
    expect(isInside("/var/log", "/var/log2/a")).toBe(false);
    expect(isInside("/var/log", "/var/lo")).toBe(false);
  });
});
