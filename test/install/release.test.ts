import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readlink, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkReportSchema } from "../../apps/cli/src/agent-check/check-result.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";
import { REPO_ROOT, freePort } from "../support/processes.ts";
import { INSTALL_SH, runScript } from "./fake-release.ts";

// The real artefact: infra/release/build.sh → install.sh --root → the installed release runs
// `ccm db migrate` and `ccm agent check` against a real database, outside the workspace.
const run = promisify(execFile);
let work: string;
let db: TestDatabase;
let tarball: string;
const VERSION = `0.0.0-test.${process.pid}`;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), "ccm-release-"));
  db = await createTestDatabase();
  const built = await runScript(path.join(REPO_ROOT, "infra/release/build.sh"), ["--version", VERSION, "--out", path.join(work, "dist")]);
  if (built.code !== 0) throw new Error(`build.sh failed:\n${built.output}`);
  tarball = path.join(work, "dist", `ccm-${VERSION}-linux-x64.tar.gz`);
}, 600_000);

afterAll(async () => {
  await db?.drop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe("release tarball", () => {
  it("holds the runtime sources, migrations, production node_modules with tsx, and no tests", async () => {
    const { stdout } = await run("tar", ["-tzf", tarball], { maxBuffer: 200 << 20 });
    const files = stdout.split("\n");
    const top = `ccm-${VERSION}/`;
    expect(files.every((f) => f === "" || f.startsWith(top))).toBe(true);
    for (const f of ["VERSION", "bin/ccm", "apps/cli/src/main.ts", "apps/agent/src/index.ts", "packages/store/src/index.ts", "pnpm-lock.yaml", "infra/install/install.sh", "infra/systemd/ccm-agent.service"]) {
      expect(files, f).toContain(top + f);
    }
    expect(files.some((f) => f.startsWith(`${top}supabase/migrations/`) && f.endsWith(".sql"))).toBe(true);
    expect(files).toContain(`${top}apps/cli/node_modules/tsx`);
    expect(files.filter((f) => f.endsWith(".test.ts") && !f.includes("/node_modules/"))).toEqual([]);
    // Dev-only tools stay out of a production install.
    expect(files.some((f) => f.includes("/node_modules/.pnpm/vitest@"))).toBe(false);
  });

  it("installs with install.sh and runs from /opt/ccm/current outside the workspace", async () => {
    const root = path.join(work, "root");
    const installed = await runScript(INSTALL_SH, ["agent", "--from", tarball, "--root", root]);
    expect(installed.code, installed.output).toBe(0);
    expect(await readlink(path.join(root, "opt/ccm/current"))).toBe(`releases/${VERSION}`);
    const ccm = path.join(root, "opt/ccm/current/bin/ccm");
    const env = { ...process.env, DATABASE_URL: db.url, CCM_AGENT_TOKEN: "", SUPABASE_URL: "", CCM_AGENT_TOKEN_FILE: "" };

    const migrate = await run(ccm, ["db", "migrate"], { cwd: work, env, timeout: 120_000 });
    expect(migrate.stdout + migrate.stderr).not.toContain("error");

    const logs = path.join(work, "logs");
    const state = path.join(work, "state");
    await mkdir(logs);
    await mkdir(state);
    const config = path.join(work, "agent.yaml");
    await writeFile(config, `host: release-test\ndatabase_url: ${db.url}\nplaybooks:\n  disk-full:\n    log_dirs: [${logs}]\n`);
    const check = await run(ccm, ["agent", "check", "--json"], {
      cwd: work,
      env: { ...env, CCM_AGENT_CONFIG: config, CCM_STATE_DIR: state, CCM_AGENT_METRICS_PORT: String(await freePort()) },
      timeout: 120_000,
    }).catch((e: { stdout: string; stderr: string }) => e);
    const report = checkReportSchema.parse(JSON.parse(check.stdout));
    expect(report.ok, check.stdout + check.stderr).toBe(true);
  });
});
