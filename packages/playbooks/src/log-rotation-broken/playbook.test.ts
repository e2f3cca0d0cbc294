import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createHostActions } from "../actions/host-actions.ts";
import { runPlaybook } from "../engine/run-playbook.ts";
import { engineOptions, memoryContext, memoryHooks } from "../engine/test-support.ts";
import { logRotationConfigSchema } from "./config.ts";
import { logRotationBrokenPlaybook } from "./playbook.ts";

// Real logrotate (apt: logrotate) on a temp config with its own state file; nothing outside the temp dir.
let dir: string;
let logs: string;
let app: string;
let conf: string;

const config = (over: Record<string, unknown> = {}) =>
  logRotationConfigSchema.parse({ config: conf, state_file: path.join(dir, "state"), files: [app], roots: [logs], max_size_mb: 0.01, ...over });
const labels = (extra: Record<string, string> = {}) => ({ alertname: "LogFileTooLarge", ...extra });
const run = (cfg: ReturnType<typeof config>, l = labels(), track = { successes: 0, failures: 0 }, dryRun = false) => {
  const { ctx, steps } = memoryContext(cfg, l, { actions: createHostActions({}), dryRun });
  const hooks = memoryHooks(track);
  return runPlaybook(logRotationBrokenPlaybook, ctx, hooks, engineOptions({ match: logRotationBrokenPlaybook.match(l) ?? undefined })).then((r) => ({ r, steps, hooks }));
};

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ccm-logrotate-"));
  logs = path.join(dir, "logs");
  await mkdir(logs);
  app = path.join(logs, "app.log");
  await writeFile(app, "x".repeat(64 * 1024));
  conf = path.join(dir, "logrotate.conf");
  await writeFile(conf, `${app} {\n  rotate 3\n  missingok\n  create\n}\n`);
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

describe("log-rotation-broken with a real logrotate", () => {
  it("forces the configured logrotate config and verifies the log was rotated", async () => {
    const { r, steps, hooks } = await run(config());
    expect(r.status, r.summary).toBe("succeeded");
    // A fresh install auto-fixes: the declared prior (4 successes), a confirmed cause, low risk, files only.
    expect(r.confidence?.band).toBe("auto");
    expect(r.summary).toBe(`rotated by logrotate ${conf}: ${app} 64.0 KiB -> 0 B, newest rotated app.log.1`);
    expect(hooks.outcomes).toEqual([true]);
    expect((await stat(`${app}.1`)).size).toBe(64 * 1024);
    expect((await stat(app)).size).toBe(0);
    expect(await readFile(path.join(dir, "state"), "utf8")).toContain(`"${app}"`);
    expect(steps.map((s) => `${s.phase}/${s.action}`)).toEqual([
      "diagnose/resolve_logs",
      "diagnose/inspect_log",
      "diagnose/logrotate_check",
      "remediate/safety_rails",
      "remediate/logrotate",
      "verify/inspect_log",
    ]);
    expect(steps.find((s) => s.action === "logrotate")?.args).toEqual({ argv: ["/usr/sbin/logrotate", "--force", "--state", path.join(dir, "state"), "--", conf] });
  });

  it("uses a log the alert names only inside the configured roots, and never hands it to logrotate", async () => {
    const outside = path.join(dir, "outside.log");
    await writeFile(outside, "y".repeat(64 * 1024));
    await symlink(outside, path.join(logs, "link.log"));
    for (const file of [outside, path.join(logs, "link.log"), `${logs}/../outside.log`, "--help", `$(touch ${dir}/pwned)`]) {
      const { r, steps } = await run(config(), labels({ file }));
      expect(r.status, file).toBe("escalated");
      expect(r.summary).toMatch(/^log file label: /);
      expect(steps.map((s) => s.action)).toEqual(["resolve_logs"]);
    }
    expect(existsSync(path.join(dir, "pwned"))).toBe(false);
    expect((await stat(outside)).size).toBe(64 * 1024);

    const { r, steps } = await run(config({ files: [] }), labels({ file: app }));
    expect(r.status, r.summary).toBe("succeeded");
    expect(steps.find((s) => s.action === "logrotate")?.args).toEqual({ argv: ["/usr/sbin/logrotate", "--force", "--state", path.join(dir, "state"), "--", conf] });
  });

  it("escalates without forcing when the config does not cover the log or has errors", async () => {
    const other = path.join(dir, "other.conf");
    await writeFile(other, `${path.join(logs, "other.log")} {\n  rotate 3\n  missingok\n}\n`);
    const a = await run(config({ config: other }));
    expect(a.r.status).toBe("escalated");
    expect(a.r.summary).toBe(`${app}: 64.0 KiB (max 10.2 KiB), never rotated; ${other} does not rotate ${app}: needs a human`);

    const broken = path.join(dir, "broken.conf");
    await writeFile(broken, `${app} {\n  rotate 3\n  bogus\n}\n`);
    const b = await run(config({ config: broken }));
    expect(b.r.status).toBe("escalated");
    expect(b.r.summary).toMatch(/logrotate --debug reports errors in .*broken\.conf \(error: .*unknown option 'bogus'.*\): forcing it would not help: needs a human$/);
    for (const { steps } of [a, b]) expect(steps.some((s) => s.action === "logrotate")).toBe(false);
    expect(existsSync(`${app}.1`)).toBe(false);
  });

  it("diagnoses only without a config, does nothing for a healthy log, and a dry run rotates nothing", async () => {
    const noConfig = await run(config({ config: undefined }));
    expect(noConfig.r.status).toBe("escalated");
    expect(noConfig.r.summary).toMatch(/never rotated; no logrotate config configured \(playbooks\.log-rotation-broken\.config\): needs a human$/);

    const dry = await run(config(), labels(), { successes: 50, failures: 0 }, true);
    expect(dry.r.summary).toMatch(/^dry run: would force logrotate /);
    expect(existsSync(`${app}.1`)).toBe(false);

    await writeFile(`${app}.1`, "old");
    await writeFile(app, "small");
    const healthy = await run(config({ max_size_mb: 1 }));
    expect(healthy.r.status).toBe("succeeded");
    expect(healthy.r.summary).toBe("1 logs below 1.0 MiB and rotated within 36 h: nothing to do");
  });
});
