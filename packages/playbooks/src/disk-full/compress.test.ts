import { existsSync } from "node:fs";
import { lstat, readFile, symlink } from "node:fs/promises";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { compressFiles, isCompressedName } from "./compress.ts";
import type { Candidate } from "./find-candidates.ts";
import { file, OLD, tempDir } from "./test-support.ts";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

async function candidate(p: string): Promise<Candidate> {
  const st = await lstat(p);
  return { path: p, dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
}

const opts = () => ({
  root: dir,
  olderThanMs: Date.now() - 86_400_000,
  openInodes: new Set<string>(),
  dryRun: false,
  signal: new AbortController().signal,
});

describe("compressFiles", () => {
  it("never overwrites an existing .gz", async () => {
    const p = await file(path.join(dir, "dump.sql"), "a".repeat(10_000), OLD);
    await file(`${p}.gz`, "precious");
    const r = await compressFiles([await candidate(p)], opts());
    expect(r.skipped).toEqual([{ path: p, reason: "dump.sql.gz already exists" }]);
    expect(await readFile(`${p}.gz`, "utf8")).toBe("precious");
    expect(existsSync(p)).toBe(true);
  });

  it("replaces a stale temp file of an interrupted run, without following a planted link", async () => {
    const p = await file(path.join(dir, "dump.sql"), "b".repeat(10_000), OLD);
    const victim = await file(path.join(dir, "victim"), "keep me");
    await symlink(victim, `${p}.gz.ccm-tmp`);
    const r = await compressFiles([await candidate(p)], opts());
    expect(r.compressed).toHaveLength(1);
    expect(gunzipSync(await readFile(`${p}.gz`)).toString()).toBe("b".repeat(10_000));
    expect(await readFile(victim, "utf8")).toBe("keep me");
    expect(existsSync(`${p}.gz.ccm-tmp`)).toBe(false);
    expect(existsSync(p)).toBe(false);
  });

  it("stops before the next file once cancelled", async () => {
    const a = await file(path.join(dir, "a.sql"), "a".repeat(10_000), OLD);
    const abort = new AbortController();
    abort.abort();
    const r = await compressFiles([await candidate(a)], { ...opts(), signal: abort.signal });
    expect(r).toMatchObject({ stopped: true, compressed: [], skipped: [{ path: a, reason: "not reached: run cancelled" }] });
    expect(existsSync(a)).toBe(true);
  });

  it("knows compressed names", () => {
    expect(["a.gz", "a.tar.XZ", "a.bz2", "a.zst", "a.zip"].every(isCompressedName)).toBe(true);
    expect(["a.sql", "a.tar", "gz"].some(isCompressedName)).toBe(false);
  });
});
