import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { confinedFile, PathNotAllowedError } from "./confined-path.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ccm-confined-"));
  await mkdir(path.join(dir, "root"));
  await writeFile(path.join(dir, "root", "ok.pem"), "x");
  await writeFile(path.join(dir, "secret"), "s");
  await writeFile(path.join(dir, "listed"), "l");
  await symlink(path.join(dir, "secret"), path.join(dir, "root", "escape"));
  await mkdir(path.join(dir, "root", "sub"));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe("confinedFile", () => {
  it("accepts regular files inside a root or listed, returning the real path", async () => {
    const allowed = { roots: [path.join(dir, "root")], files: [path.join(dir, "listed")] };
    expect(await confinedFile(path.join(dir, "root", "ok.pem"), allowed)).toEqual({ real: path.join(dir, "root", "ok.pem"), size: 1 });
    expect((await confinedFile(path.join(dir, "listed"), allowed)).real).toBe(path.join(dir, "listed"));
  });

  it.each([
    ["relative", "root/ok.pem"],
    ["dot-dot", "ROOT/../secret"],
    ["newline", "ROOT/ok.pem\n"],
    ["symlink out", "ROOT/escape"],
    ["outside", "DIR/secret"],
    ["missing", "ROOT/nope"],
    ["directory", "ROOT/sub"],
  ])("refuses %s", async (_why, p) => {
    const candidate = p.replace("ROOT", path.join(dir, "root")).replace("DIR", dir);
    await expect(confinedFile(candidate, { roots: [path.join(dir, "root")], files: [] })).rejects.toBeInstanceOf(PathNotAllowedError);
  });

  it("refuses a file above the size cap", async () => {
    await expect(confinedFile(path.join(dir, "root", "ok.pem"), { roots: [path.join(dir, "root")], files: [] }, 0)).rejects.toThrow(/larger than 0 bytes/);
  });
});
