import { existsSync } from "node:fs";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHostActions } from "./actions/host-actions.ts";
import { builtinPlaybooks } from "./builtins.ts";
import { runPlaybook } from "./engine/run-playbook.ts";
import { selectPlaybook } from "./engine/select.ts";
import { engineOptions, memoryContext, memoryHooks } from "./engine/test-support.ts";

// Alert labels are data. Whatever they hold, no playbook may hand them to a shell or turn them into an
// option, a path root or a service name outside the allow-list.

const FIXTURES = fileURLToPath(new URL("../test-fixtures/", import.meta.url));
let dir: string;
let pwned: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ccm-injection-"));
  pwned = path.join(dir, "pwned");
  for (const f of ["fake-service.mjs", "server.mjs"]) await copyFile(path.join(FIXTURES, f), path.join(dir, f));
  await writeFile(path.join(dir, "services.json"), JSON.stringify({ web: { port: 1 } }));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

const hostile = () => [
  `$(touch ${pwned})`,
  `; touch ${pwned}`,
  `; rm -rf / ; touch ${pwned}`,
  `\`touch ${pwned}\``,
  `web && touch ${pwned}`,
  `--help`,
  `../../../../${pwned}`,
  `web\ntouch ${pwned}`,
];

/** The alert names that route to each built-in, so every playbook sees every hostile value. */
const routes: Array<[string, string]> = [
  ["NodeFilesystemAlmostOutOfSpace", "disk-full"],
  ["ServiceDown", "service-down"],
  ["HostOutOfMemory", "high-memory"],
  ["HostHighCpuLoad", "high-cpu"],
  ["SSLCertExpiringSoon", "cert-expiry"],
  ["LogFileTooLarge", "log-rotation-broken"],
  ["SomethingNobodyHandles", "unknown"],
];

/** Each playbook's config for this test: roots and commands exist, so only the label can be refused. */
const configs = (): Record<string, unknown> => ({
  "disk-full": { log_dirs: [dir], temp_dirs: [dir], ignore_unreadable_processes: ["process_api"] },
  // The investigator gets the bundle (labels included) on stdin and echoes it: still only data.
  unknown: { log_files: [], journal: false, top_processes: 2, investigator: { argv: [process.execPath, "-e", "process.stdin.pipe(process.stdout)"] } },
  "high-cpu": { sample_ms: 100 },
  "cert-expiry": { roots: [dir], endpoints: ["127.0.0.1:1"], renew_command: "renew" },
  "log-rotation-broken": { roots: [dir], config: path.join(dir, "logrotate.conf"), state_file: path.join(dir, "state") },
});

describe("hostile label values pass through every playbook without being executed", () => {
  it.each(routes)("%s -> %s", async (alertname, expected) => {
    const cmd = (sub: string) => [process.execPath, path.join(dir, "fake-service.mjs"), sub, "{service}"];
    const actions = createHostActions({
      service_manager: "command",
      service_commands: { status: cmd("status"), restart: cmd("restart"), logs: cmd("logs") },
      services: { web: {} },
      commands: { renew: { argv: [process.execPath, "-e", "0"] } },
      log_roots: [dir],
    });
    const playbooks = builtinPlaybooks();
    for (const value of hostile()) {
      const labels: Record<string, string> = {
        alertname,
        host: value,
        instance: value,
        mountpoint: value,
        service: value,
        name: value,
        unit: value,
        job: value,
        severity: value,
        file: value,
        path: value,
        endpoint: value,
      };
      const selected = selectPlaybook(playbooks, labels);
      expect(selected).not.toBeNull();
      const playbook = selected!.playbook;
      expect(playbook.name).toBe(expected);
      const config = playbook.configSchema.parse(configs()[playbook.name] ?? {});
      const { ctx } = memoryContext(config, labels, { actions });
      const r = await runPlaybook(playbook, ctx, memoryHooks(), engineOptions({ match: selected!.match }));
      // None of them can act on such an alert: bad mountpoint, service not allow-listed, or nothing matched.
      expect(r.status, `${playbook.name} with ${JSON.stringify(value)}: ${r.summary}`).toBe("escalated");
      if (playbook.name === "unknown") {
        expect(JSON.stringify(r.details.findings)).toContain(JSON.stringify(value).slice(1, -1));
      }
    }
    expect(existsSync(pwned)).toBe(false);
    // The only service commands that ran named allow-listed services, never a label value.
    const calls = (await readFile(path.join(dir, "calls.log"), "utf8").catch(() => "")).trim().split("\n").filter(Boolean);
    for (const c of calls) expect(JSON.parse(c)[1]).toBe("web");
  });
});
