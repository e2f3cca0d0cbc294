import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { cp, lstat, mkdir, readFile, readdir, readlink, rm, writeFile, chmod } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT } from "../support/processes.ts";

const run = promisify(execFile);

export const INSTALL_SH = path.join(REPO_ROOT, "infra/install/install.sh");

/**
 * A small release tarball shaped like infra/release/build.sh's (ccm-<v>/VERSION, bin/ccm, the real
 * infra/install and infra/systemd), without node_modules, so install tests take seconds.
 */
export async function fakeRelease(workDir: string, version: string, marker = ""): Promise<string> {
  const stage = path.join(workDir, `stage-${version}-${marker}`);
  const top = path.join(stage, `ccm-${version}`);
  await rm(stage, { recursive: true, force: true });
  await mkdir(path.join(top, "bin"), { recursive: true });
  await writeFile(path.join(top, "VERSION"), `${version}\n`);
  await writeFile(path.join(top, "bin/ccm"), `#!/bin/sh\necho "fake ccm ${version}${marker} $*"\n`);
  await chmod(path.join(top, "bin/ccm"), 0o755);
  for (const d of ["infra/install", "infra/systemd"]) await cp(path.join(REPO_ROOT, d), path.join(top, d), { recursive: true });
  const tarball = path.join(workDir, `ccm-${version}${marker}-linux-x64.tar.gz`);
  await run("tar", ["-C", stage, "-czf", tarball, `ccm-${version}`]);
  return tarball;
}

/** Run a shell script to completion; never throws on a non-zero exit. */
export async function runScript(file: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run("sh", [file, ...args], { env: { ...process.env, ...env }, timeout: 120_000, maxBuffer: 10 << 20 });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, output: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

/** Every path under `root` with its type, mode and content hash or link target: equal snapshots = nothing changed. */
export async function snapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const p = path.join(dir, name);
      const rel = path.relative(root, p);
      const st = await lstat(p);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out[rel] = `link ${await readlink(p)}`;
      else if (st.isDirectory()) {
        out[rel] = `dir ${mode}`;
        await walk(p);
      } else out[rel] = `file ${mode} ${createHash("sha256").update(await readFile(p)).digest("hex")} ${st.mtimeMs}`;
    }
  };
  await walk(root);
  return out;
}
