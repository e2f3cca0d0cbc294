import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engineOptions, memoryContext, memoryHooks } from "../engine/test-support.ts";
import { runPlaybook } from "../engine/run-playbook.ts";
import { validateBroadcastParams } from "../broadcast/params.ts";
import { packageUpdateConfigSchema } from "./config.ts";
import { packageUpdatePlaybook } from "./playbook.ts";

const FAKE_PM = fileURLToPath(new URL("../../../../test/broadcast/fixtures/fake-pm.mjs", import.meta.url));
let dir: string;
let log: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ccm-pkg-"));
  log = path.join(dir, "pm.log");
  process.env.FAKE_PM_LOG = log;
});
afterAll(async () => {
  delete process.env.FAKE_PM_LOG;
  await rm(dir, { recursive: true, force: true });
});

const config = () => packageUpdateConfigSchema.parse({ manager: "command", command: [process.execPath, FAKE_PM] });

async function run(params: Record<string, unknown>, dryRun = false) {
  const { ctx, steps } = memoryContext(config(), {}, { dryRun });
  ctx.input.params = params;
  const r = await runPlaybook(packageUpdatePlaybook, ctx, memoryHooks({ successes: 0, failures: 0 }), engineOptions({ operatorIntent: { by: "test" } }));
  return { r, steps };
}

const calls = async () => (await readFile(log, "utf8").catch(() => "")).trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as string[]);

describe("package-update", () => {
  it("validates name and version strictly: options, spaces, shell and glob characters never reach argv", () => {
    for (const bad of [{ name: "-o" }, { name: "curl; rm -rf /" }, { name: "a b" }, { name: "$(id)" }, { name: "x*" }, { name: "curl", version: "--force" }, { name: "" }, {}, { name: "curl", extra: 1 }]) {
      expect(validateBroadcastParams(packageUpdatePlaybook, bad).ok, JSON.stringify(bad)).toBe(false);
    }
    for (const good of [{ name: "curl" }, { name: "libssl3", version: "3.0.2-0ubuntu1.10" }, { name: "g++", version: "1:12.2~rc1" }, { name: "python3.11" }]) {
      expect(validateBroadcastParams(packageUpdatePlaybook, good).ok, JSON.stringify(good)).toBe(true);
    }
  });

  it("installs through the configured command as whole arguments, without asking (the broadcast is the approval)", async () => {
    const { r, steps } = await run({ name: "curl", version: "8.5.0" });
    expect(r.status).toBe("succeeded");
    expect(r.summary).toBe("curl 8.5.0 installed");
    expect((await calls()).at(-1)).toEqual(["install", "curl", "8.5.0"]);
    expect(steps.map((s) => s.action)).toEqual(["safety_rails", "install_package"]);
  });

  it("a missing package fails with the exit code and the line that says why", async () => {
    const { r } = await run({ name: "missing-x" });
    expect(r.status).toBe("escalated");
    expect(r.details).toMatchObject({ exit_code: 100, error_line: "E: Unable to locate package missing-x" });
    expect(r.summary).toContain("E: Unable to locate package missing-x (exit 100)");
  });

  it("dry run runs nothing", async () => {
    const before = (await calls()).length;
    const { r, steps } = await run({ name: "curl" }, true);
    expect(r.status).toBe("succeeded");
    expect(r.summary).toMatch(/dry run/);
    expect(steps.find((s) => s.action === "install_package")?.outcome?.status).toBe("dry_run");
    expect((await calls()).length).toBe(before);
  });

  it("invalid params reaching the agent are refused before anything runs", async () => {
    const before = (await calls()).length;
    const { r } = await run({ name: "--purge" });
    expect(r.status).toBe("escalated");
    expect(r.summary).toMatch(/invalid params: name/);
    expect((await calls()).length).toBe(before);
  });
});
