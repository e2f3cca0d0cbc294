import { execFile } from "node:child_process";
import { mkdtemp, readFile, readdir, readlink, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/processes.ts";
import { fakeRelease } from "./fake-release.ts";

// The Ansible role run for real against localhost into a fake root (ccm_agent_root): install,
// second run changes nothing, --check agrees, upgrade flips the symlink, rollback flips it back.
const run = promisify(execFile);
const ANSIBLE_DIR = path.join(REPO_ROOT, "infra/ansible");
const TOKEN = "t".repeat(43);

const haveAnsible = await run("ansible-playbook", ["--version"]).then(() => true, () => false);
if (!haveAnsible) console.warn("[ccm tests] ansible-playbook not found (apt-get install ansible-core): the Ansible role is NOT verified");

async function ansible(cmd: string, args: string[]): Promise<{ code: number; output: string }> {
  try {
    const r = await run(cmd, args, {
      cwd: ANSIBLE_DIR,
      env: { ...process.env, ANSIBLE_CONFIG: path.join(ANSIBLE_DIR, "ansible.cfg"), ANSIBLE_NOCOLOR: "1", ANSIBLE_FORCE_COLOR: "0" },
      timeout: 180_000,
      maxBuffer: 20 << 20,
    });
    return { code: 0, output: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, output: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

function recap(output: string): { changed: number; failed: number } {
  const m = /localhost\s+: ok=\d+\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)/.exec(output);
  if (!m) throw new Error(`no PLAY RECAP in:\n${output}`);
  return { changed: Number(m[1]), failed: Number(m[2]) };
}

describe.skipIf(!haveAnsible)("Ansible role ccm_agent", () => {
  let work: string;
  let root: string;
  let inventory: string;
  const tarballs: Record<string, string> = {};

  const play = (version: string, extra: string[] = []) =>
    ansible("ansible-playbook", [
      "-i", inventory, "playbooks/ccm-agent.yml",
      "-e", "ansible_become=false",
      "-e", `ccm_agent_root=${root}`,
      "-e", `ccm_version=${version}`,
      "-e", `ccm_agent_tarball=${tarballs[version]}`,
      "-e", `ccm_agent_token=${TOKEN}`,
      "-e", "ccm_agent_database_url=postgres://ccm_agent@db.internal/ccm",
      "-e", "ccm_agent_keep_releases=2",
      ...extra,
    ]);

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), "ccm-ansible-"));
    root = path.join(work, "root");
    inventory = path.join(work, "inventory.yml");
    await writeFile(
      inventory,
      "ccm_agents:\n  hosts:\n    localhost:\n      ansible_connection: local\n      ansible_python_interpreter: /usr/bin/python3\n",
    );
    for (const v of ["0.9.0", "0.9.1", "0.9.2"]) tarballs[v] = await fakeRelease(work, v);
  });

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("the playbook passes --syntax-check and the example inventory holds 50 agents", async () => {
    const syntax = await ansible("ansible-playbook", ["--syntax-check", "playbooks/ccm-agent.yml"]);
    expect(syntax.code, syntax.output).toBe(0);
    const inv = await ansible("ansible-inventory", ["--list"]);
    expect(inv.code, inv.output).toBe(0);
    const groups = JSON.parse(inv.output.slice(inv.output.indexOf("{"))) as Record<string, { hosts?: string[] }>;
    const hosts = ["web", "db", "batch"].flatMap((g) => groups[g]?.hosts ?? []);
    expect(new Set(hosts).size).toBe(50);
  });

  it("installs, then a second run and a --check run change nothing", async () => {
    const first = await play("0.9.0");
    expect(first.code, first.output).toBe(0);
    expect(recap(first.output).changed).toBeGreaterThan(0);
    expect(await readlink(path.join(root, "opt/ccm/current"))).toBe("releases/0.9.0");
    const env = path.join(root, "etc/ccm/agent.env");
    expect(await readFile(env, "utf8")).toContain(`CCM_AGENT_TOKEN=${TOKEN}`);
    expect(((await stat(env)).mode & 0o777).toString(8)).toBe("600");
    expect(await readFile(path.join(root, "etc/ccm/agent.yaml"), "utf8")).toContain("dry_run: true");
    expect(await readFile(path.join(root, "etc/systemd/system/ccm-agent.service"), "utf8")).toBe(
      await readFile(path.join(REPO_ROOT, "infra/systemd/ccm-agent.service"), "utf8"),
    );
    // The token never shows in Ansible's output.
    expect(first.output).not.toContain(TOKEN);

    const second = await play("0.9.0");
    expect(second.code, second.output).toBe(0);
    expect(recap(second.output)).toEqual({ changed: 0, failed: 0 });
    const check = await play("0.9.0", ["--check"]);
    expect(check.code, check.output).toBe(0);
    expect(recap(check.output)).toEqual({ changed: 0, failed: 0 });
  }, 300_000);

  it("upgrades by a new release folder and a flip, prunes old releases, and rolls back", async () => {
    const up = await play("0.9.1");
    expect(up.code, up.output).toBe(0);
    expect(await readlink(path.join(root, "opt/ccm/current"))).toBe("releases/0.9.1");
    const up2 = await play("0.9.2");
    expect(up2.code, up2.output).toBe(0);
    // keep_releases=2: the active one and the newest other one.
    expect((await readdir(path.join(root, "opt/ccm/releases"))).sort()).toEqual(["0.9.1", "0.9.2"]);
    expect(await readdir(path.join(root, "opt/ccm/dist"))).toEqual(["ccm-0.9.2-linux-x64.tar.gz"]);

    const back = await play("0.9.1");
    expect(back.code, back.output).toBe(0);
    expect(await readlink(path.join(root, "opt/ccm/current"))).toBe("releases/0.9.1");
    expect(back.output).toMatch(/Unpack the release[^\n]*\n(ok|skipping): \[localhost\]/);
  }, 300_000);

  it("refuses a host without a token", async () => {
    const r = await play("0.9.1", ["-e", "ccm_agent_token="]);
    expect(r.code).not.toBe(0);
    expect(r.output).toContain("has no ccm_agent_token");
  }, 120_000);
});
