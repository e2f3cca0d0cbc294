import { describe, expect, it } from "vitest";
import { createHostActions } from "../actions/host-actions.ts";
import { engineOptions, memoryContext, memoryHooks } from "../engine/test-support.ts";
import { runPlaybook } from "../engine/run-playbook.ts";
import { collectFactsPlaybook } from "../collect-facts/playbook.ts";
import { serviceRestartPlaybook } from "./playbook.ts";

// The command service manager with node as the "service tool": exit 0 = running / restarted.
const ok = [process.execPath, "-e", "process.exit(0)", "{service}"];
const actions = createHostActions({
  service_manager: "command",
  service_commands: { status: ok, restart: ok },
  services: { web: { restart: true }, db: { restart: false } },
});

async function run(params: Record<string, unknown>, dryRun = false) {
  const { ctx, steps } = memoryContext({}, {}, { actions, dryRun });
  ctx.input.params = params;
  const r = await runPlaybook(serviceRestartPlaybook, ctx, memoryHooks({ successes: 0, failures: 0 }), engineOptions({ operatorIntent: { by: "test" } }));
  return { r, steps };
}

describe("service-restart", () => {
  it("restarts an allow-listed service and checks it is active", async () => {
    const { r, steps } = await run({ service: "web" });
    expect(r).toMatchObject({ status: "succeeded", summary: "web restarted and active" });
    expect(steps.map((s) => s.action)).toEqual(["service_status", "safety_rails", "restart_service", "service_status"]);
  });
  it("refuses services outside the allow-list or not restartable, before anything runs", async () => {
    const a = await run({ service: "nginx" });
    expect(a.r.summary).toMatch(/not in this host's allow-list/);
    expect(a.steps).toEqual([]);
    const b = await run({ service: "db" });
    expect(b.r.summary).toMatch(/restart: false/);
    expect((await run({ service: "-x" })).r.summary).toMatch(/invalid params/);
  });
  it("dry run restarts nothing", async () => {
    const { steps } = await run({ service: "web" }, true);
    expect(steps.find((s) => s.action === "restart_service")?.outcome?.status).toBe("dry_run");
  });
});

describe("collect-facts", () => {
  it("reads facts and changes nothing", async () => {
    const { ctx, steps } = memoryContext({}, {});
    const r = await runPlaybook(collectFactsPlaybook, ctx, memoryHooks(), engineOptions({ operatorIntent: { by: "test" } }));
    expect(r.status).toBe("succeeded");
    expect(r.summary).toMatch(/cores, load/);
    expect(steps.map((s) => s.action)).toEqual(["host_facts"]);
  });
});
