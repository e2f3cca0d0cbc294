import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { createHostActions } from "../actions/host-actions.ts";
import { runPlaybook } from "../engine/run-playbook.ts";
import { engineOptions, memoryContext, memoryHooks } from "../engine/test-support.ts";
import { compileYamlPlaybook } from "./compile.ts";
import { lintPlaybookFile, loadOperatorPlaybooks, PlaybookLoadError } from "./load.ts";
import { playbookJsonSchema, yamlPlaybookSchema } from "./schema.ts";

const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const FIXTURES = path.join(ROOT, "packages/playbooks/test-fixtures");
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ccm-yaml-"));
});
afterEach(async () => {
  const pid = Number(await readFile(path.join(dir, "worker-a.pid"), "utf8").catch(() => "0"));
  if (pid) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  await rm(dir, { recursive: true, force: true });
});

const example = async () => yamlPlaybookSchema.parse((await import("yaml")).parse(await readFile(path.join(ROOT, "docs/playbooks-examples/restart-worker.yaml"), "utf8")));

describe("YAML playbooks", () => {
  it("docs/playbook.schema.json is the exported JSON Schema (regenerate with `pnpm ccm playbooks schema`)", async () => {
    expect(JSON.parse(await readFile(path.join(ROOT, "docs/playbook.schema.json"), "utf8"))).toEqual(playbookJsonSchema());
  });

  it("lint names every problem by its path", async () => {
    const bad = {
      name: "Bad Name",
      version: "1",
      description: "x",
      risk: "low",
      blast_radius: "files",
      idempotent: true,
      runbook: "x",
      match: { all: [{ label: "alertname", equals: "X", regex: "Y" }] },
      params: { svc: { from: "label", key: "service" } },
      diagnose: [{ action: "restart_service", service: "{{svc}}" }],
      remediate: [{ action: "command", name: "x", shell: "rm -rf /" }],
      verify: [{ action: "service_status", service: "pre-{{svc}}" }],
      extra: 1,
    };
    const file = path.join(dir, "bad.yaml");
    await writeFile(file, stringify(bad));
    const r = await lintPlaybookFile(file);
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^name: /),
        expect.stringMatching(/^version: must be a version/),
        expect.stringMatching(/^match\.all\.0: give exactly one of/),
        expect.stringMatching(/^params\.svc\.pattern: /),
        expect.stringMatching(/^remediate\.0: Unrecognized key: "shell"/),
        expect.stringMatching(/^verify\.0\.service: a parameter must be the whole value/),
        expect.stringMatching(/^\(top\): Unrecognized key: "extra"/),
      ]),
    );
  });

  it("matchers: equals, not, regex (full match)", async () => {
    const p = compileYamlPlaybook(await example());
    expect(p.match({ alertname: "WorkerUnhealthy", env: "prod", worker: "worker-a" })).toMatchObject({ quality: 1 });
    expect(p.match({ alertname: "WorkerUnhealthy", env: "staging", worker: "worker-a" })).toBeNull();
    expect(p.match({ alertname: "WorkerUnhealthy", env: "prod", worker: "worker-a; rm -rf /" })).toBeNull();
    expect(p.match({ alertname: "Other", worker: "worker-a" })).toBeNull();
  });

  it("restarts a real stopped worker through the command adapter and verifies it", async () => {
    for (const f of ["fake-service.mjs", "server.mjs"]) await copyFile(path.join(FIXTURES, f), path.join(dir, f));
    await writeFile(path.join(dir, "services.json"), JSON.stringify({ "worker-a": { port: 0 } }));
    const cmd = (sub: string) => [process.execPath, path.join(dir, "fake-service.mjs"), sub, "{service}"];
    const actions = createHostActions({ service_manager: "command", service_commands: { status: cmd("status"), restart: cmd("restart") }, services: { "worker-a": {} } });
    const p = compileYamlPlaybook(await example());
    const labels = { alertname: "WorkerUnhealthy", env: "prod", worker: "worker-a" };
    const { ctx, steps } = memoryContext(p.configSchema.parse({}), labels, { actions });
    const r = await runPlaybook(p, ctx, memoryHooks(), engineOptions({ match: p.match(labels)! }));
    expect(r.status, r.summary).toBe("succeeded");
    expect(r.confidence?.factors.find((f) => f.name === "diagnosis")?.value).toBe(1);
    expect(steps.map((s) => `${s.phase}/${s.action}:${s.outcome?.status}`)).toEqual([
      "diagnose/service_status:ok",
      "remediate/safety_rails:ok",
      "remediate/restart_service:ok",
      "verify/service_status:ok",
    ]);
    // Now it runs: diagnosis does not confirm, nothing is restarted again.
    const again = memoryContext(p.configSchema.parse({}), labels, { actions });
    expect((await runPlaybook(p, again.ctx, memoryHooks(), engineOptions())).status).toBe("succeeded");
    expect(again.steps.map((s) => s.action)).toEqual(["service_status"]);
  });

  it("a parameter from an alert must match its pattern, else the run escalates without acting", async () => {
    const def = await example();
    const p = compileYamlPlaybook({ ...def, match: { all: [{ label: "alertname", equals: "WorkerUnhealthy" }], quality: 1 } });
    const { ctx, steps } = memoryContext({}, { alertname: "WorkerUnhealthy", worker: "$(touch /tmp/pwned)" });
    const r = await runPlaybook(p, ctx, memoryHooks(), engineOptions());
    expect(r).toMatchObject({ status: "escalated", summary: expect.stringContaining("label worker does not match worker-[a-z]+ (value not used)") });
    expect(steps).toEqual([]);
  });

  it("loading a folder: an invalid file or a taken name fails the whole load", async () => {
    await writeFile(path.join(dir, "a.yaml"), stringify({ ...(await example()) }));
    expect((await loadOperatorPlaybooks([dir], ["disk-full"])).map((p) => p.name)).toEqual(["restart-worker"]);
    await expect(loadOperatorPlaybooks([dir], ["restart-worker"])).rejects.toThrow(PlaybookLoadError);
    await writeFile(path.join(dir, "b.yml"), "name: [");
    await expect(loadOperatorPlaybooks([dir], [])).rejects.toThrow(/b\.yml: not readable YAML/);
  });
});
