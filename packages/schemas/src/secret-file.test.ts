import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readSecretFileVar, withSecretFiles } from "./secret-file.ts";

const dir = mkdtempSync(path.join(os.tmpdir(), "ccm-secret-file-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe("secrets from <KEY>_FILE", () => {
  it("reads one value, ignoring comments and blank lines; list keys join lines with commas", () => {
    const one = file("one", "# the key\n\n  s3cret  \n");
    const two = file("two", "current\nnext\n");
    expect(withSecretFiles({ A_FILE: one, B_FILE: two }, ["A", "B"], ["B"])).toEqual({ A: "s3cret", B: "current,next" });
  });

  it("names the key and the reason, never the value", () => {
    const issues: string[] = [];
    expect(readSecretFileVar({ K_FILE: file("empty", "# nothing\n") }, "K", issues)).toBeUndefined();
    expect(readSecretFileVar({ K_FILE: file("many", "a\nb\n") }, "K", issues)).toBeUndefined();
    expect(readSecretFileVar({ K_FILE: path.join(dir, "missing") }, "K", issues)).toBeUndefined();
    expect(readSecretFileVar({ K: "x", K_FILE: file("set", "y") }, "K", issues)).toBeUndefined();
    expect(readSecretFileVar({ K: "x" }, "K", issues)).toBeUndefined();
    expect(issues).toEqual([
      expect.stringMatching(/^K_FILE: .*empty is empty$/),
      expect.stringMatching(/^K_FILE: .*many must hold one value, found 2 lines$/),
      expect.stringMatching(/^K_FILE: cannot read .*missing: ENOENT$/),
      "K_FILE: K is also set; use one of them",
    ]);
    expect(() => withSecretFiles({ K_FILE: path.join(dir, "missing") }, ["K"])).toThrow(/invalid configuration in the environment:\n {2}K_FILE: cannot read/);
  });
});
