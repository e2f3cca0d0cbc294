import { execFile } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentFileSchema } from "@ccm/agent";
import { REPO_ROOT } from "../support/processes.ts";

const run = promisify(execFile);
const SYSTEMD = path.join(REPO_ROOT, "infra/systemd");

type Unit = Record<string, Record<string, string[]>>;

/** systemd's unit syntax, strictly: sections, Key=value, comments, no continuation lines. */
function parseUnit(text: string, name: string): Unit {
  const unit: Unit = {};
  let section: Record<string, string[]> | undefined;
  text.split("\n").forEach((line, i) => {
    const t = line.trim();
    if (t === "" || t.startsWith("#") || t.startsWith(";")) return;
    const header = /^\[([A-Za-z]+)\]$/.exec(t);
    if (header) {
      section = unit[header[1] as string] ??= {};
      return;
    }
    const kv = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(t);
    if (!kv || !section) throw new Error(`${name}:${i + 1}: not a unit line: ${line}`);
    (section[kv[1] as string] ??= []).push(kv[2] as string);
  });
  return unit;
}

const one = (u: Unit, s: string, k: string) => u[s]?.[k]?.at(-1);
const seconds = (v: string | undefined) => {
  const m = /^(\d+)(s|min)?$/.exec(v ?? "");
  if (!m) throw new Error(`not a duration: ${v}`);
  return Number(m[1]) * (m[2] === "min" ? 60 : 1);
};

let agent: Unit;
let hub: Unit;

beforeAll(async () => {
  agent = parseUnit(await readFile(path.join(SYSTEMD, "ccm-agent.service"), "utf8"), "ccm-agent.service");
  hub = parseUnit(await readFile(path.join(SYSTEMD, "ccm-hub.service"), "utf8"), "ccm-hub.service");
});

describe("systemd units (parsed)", () => {
  it("restart on failure with a bounded back-off, and only keys systemd 252 knows in the base unit", () => {
    for (const u of [agent, hub]) {
      expect(one(u, "Service", "Restart")).toBe("on-failure");
      expect(seconds(one(u, "Service", "RestartSec"))).toBeGreaterThan(0);
      expect(seconds(one(u, "Unit", "StartLimitIntervalSec"))).toBeGreaterThan(0);
      expect(Number(one(u, "Unit", "StartLimitBurst"))).toBeGreaterThan(0);
      // RestartSteps/RestartMaxDelaySec need systemd >= 254: only in the drop-in install.sh adds there.
      expect(u.Service?.RestartSteps).toBeUndefined();
      expect(one(u, "Service", "KillSignal")).toBe("SIGTERM");
    }
  });

  it("the exponential back-off drop-in sets RestartSteps and RestartMaxDelaySec", async () => {
    const d = parseUnit(await readFile(path.join(SYSTEMD, "restart-backoff.conf"), "utf8"), "restart-backoff.conf");
    expect(one(d, "Service", "RestartSteps")).toBe("5");
    expect(seconds(one(d, "Service", "RestartMaxDelaySec"))).toBeGreaterThan(5);
  });

  it("agent: hardened, writable only where playbooks act, limits, stop timeout above the agent's grace", () => {
    const s = agent.Service ?? {};
    expect(one(agent, "Service", "NoNewPrivileges")).toBe("yes");
    expect(one(agent, "Service", "ProtectSystem")).toBe("strict");
    expect(one(agent, "Service", "ProtectHome")).toBe("yes");
    // disk-full cleans the host's /tmp: a private /tmp would hide it.
    expect(one(agent, "Service", "PrivateTmp")).toBe("no");
    expect(s.ProtectProc).toBeUndefined();
    expect((s.ReadWritePaths ?? []).join(" ").split(/\s+/).sort()).toEqual(["/tmp", "/var/lib/ccm", "/var/log", "/var/tmp"]);
    expect(one(agent, "Service", "CapabilityBoundingSet")?.split(" ")).toEqual(
      expect.arrayContaining(["CAP_SYS_PTRACE", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_CHOWN"]),
    );
    expect(one(agent, "Service", "MemoryMax")).toMatch(/^\d+[KMG]$/);
    expect(one(agent, "Service", "CPUQuota")).toMatch(/^\d+%$/);
    expect(Number(one(agent, "Service", "TasksMax"))).toBeGreaterThan(0);
    expect(one(agent, "Service", "EnvironmentFile")).toBe("/etc/ccm/agent.env");
    expect(s.Environment).toEqual(expect.arrayContaining(["CCM_AGENT_CONFIG=/etc/ccm/agent.yaml"]));
    const graceMs = agentFileSchema.parse({ host: "x" }).shutdown_grace_ms;
    expect(seconds(one(agent, "Service", "TimeoutStopSec")) * 1000).toBeGreaterThan(graceMs + 10_000);
    expect(one(agent, "Service", "ExecStart")).toBe("/opt/ccm/current/bin/ccm agent");
  });

  it("hub: unprivileged user, no capabilities, private /tmp, writes only its state", () => {
    expect(one(hub, "Service", "User")).toBe("ccm");
    expect(one(hub, "Service", "CapabilityBoundingSet")).toBe("");
    expect(one(hub, "Service", "PrivateTmp")).toBe("yes");
    expect(one(hub, "Service", "ProtectSystem")).toBe("strict");
    expect(one(hub, "Service", "ReadWritePaths")).toBe("/var/lib/ccm");
    expect(one(hub, "Service", "EnvironmentFile")).toBe("/etc/ccm/hub.env");
    expect(one(hub, "Service", "ExecStart")).toBe("/opt/ccm/current/bin/ccm hub");
  });

  it("example drop-ins are valid [Service] snippets", async () => {
    for (const f of ["examples/extra-write-paths.conf", "examples/run-as-ccm-user.conf"]) {
      const d = parseUnit(await readFile(path.join(SYSTEMD, f), "utf8"), f);
      expect(Object.keys(d)).toEqual(["Service"]);
    }
  });
});

const analyze = await run("systemd-analyze", ["--version"]).then(() => true, () => false);
if (!analyze) console.warn("[ccm tests] systemd-analyze not found: units checked by parsing only, `systemd-analyze verify` NOT run");

describe.skipIf(!analyze)("systemd units (systemd-analyze)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "ccm-units-"));
    // verify insists ExecStart exists: point it at a stand-in for /opt/ccm/current/bin/ccm.
    const exe = path.join(dir, "ccm");
    await writeFile(exe, "#!/bin/sh\n");
    await chmod(exe, 0o755);
    for (const u of ["ccm-agent.service", "ccm-hub.service"]) {
      const text = await readFile(path.join(SYSTEMD, u), "utf8");
      await writeFile(path.join(dir, u), text.replaceAll("/opt/ccm/current/bin/ccm", exe));
    }
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("`systemd-analyze verify` accepts both units without a warning", async () => {
    const r = await run("systemd-analyze", ["verify", path.join(dir, "ccm-agent.service"), path.join(dir, "ccm-hub.service")]).then(
      (x) => ({ code: 0, out: x.stdout + x.stderr }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? -1, out: `${e.stdout}${e.stderr}` }),
    );
    expect(r.code, r.out).toBe(0);
    expect(r.out.trim()).toBe("");
  });

  it("`systemd-analyze security` rates the units well exposed-wise", async () => {
    const exposure = async (u: string) => {
      const { stdout } = await run("systemd-analyze", ["security", "--offline=yes", path.join(dir, u)]).catch(
        (e: { stdout: string }) => ({ stdout: e.stdout }),
      );
      const m = /Overall exposure level for \S+: ([\d.]+)/.exec(stdout);
      if (!m) throw new Error(`no exposure level in:\n${stdout}`);
      return Number(m[1]);
    };
    // 0 = locked down, 10 = unprotected; the agent needs root-ish capabilities for disk-full.
    expect(await exposure("ccm-agent.service")).toBeLessThan(5);
    expect(await exposure("ccm-hub.service")).toBeLessThan(3);
  });
});
