import { mkdtemp, readFile, readlink, rm, stat, writeFile, access } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/processes.ts";
import { INSTALL_SH, fakeRelease, runScript, snapshot } from "./fake-release.ts";

// infra/install/install.sh into a fake root (--root): layout, modes, idempotence, upgrade, rollback.
let work: string;
let root: string;
let config: string;
const mode = async (p: string) => ((await stat(p)).mode & 0o777).toString(8);

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), "ccm-install-"));
  root = path.join(work, "root");
  config = path.join(work, "agent.yaml");
  await writeFile(config, "host: web-1\ndatabase_url: postgres://ccm@db.internal/ccm\n");
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe("install.sh agent --root", () => {
  let v1: string;

  it("installs the release, config, state folders, unit and CLI wrapper", async () => {
    v1 = await fakeRelease(work, "1.0.0");
    const r = await runScript(INSTALL_SH, ["agent", "--from", v1, "--config", config, "--root", root], { CCM_SYSTEMD_VERSION: "252" });
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain("no user created, no ownership set, no systemctl (--root)");
    expect(r.output).toContain("skipped: system user ccm (--root)");
    expect(r.output).toContain("skipped: systemctl enable/restart ccm-agent.service (--root)");
    expect(r.output).toMatch(/done: ccm 1\.0\.0 \(agent\), \d+ change\(s\)/);

    expect(await readlink(path.join(root, "opt/ccm/current"))).toBe("releases/1.0.0");
    expect((await readFile(path.join(root, "opt/ccm/releases/1.0.0/VERSION"), "utf8")).trim()).toBe("1.0.0");
    expect(await mode(path.join(root, "etc/ccm"))).toBe("750");
    expect(await mode(path.join(root, "var/lib/ccm"))).toBe("750");
    expect(await readFile(path.join(root, "etc/ccm/agent.yaml"), "utf8")).toBe(await readFile(config, "utf8"));
    expect(await mode(path.join(root, "etc/ccm/agent.yaml"))).toBe("640");
    // No --env: the example, never world-readable (it will hold the token).
    expect(await readFile(path.join(root, "etc/ccm/agent.env"), "utf8")).toContain("#CCM_AGENT_TOKEN=");
    expect(await mode(path.join(root, "etc/ccm/agent.env"))).toBe("600");
    expect(await readFile(path.join(root, "etc/systemd/system/ccm-agent.service"), "utf8")).toBe(
      await readFile(path.join(REPO_ROOT, "infra/systemd/ccm-agent.service"), "utf8"),
    );
    // systemd 252: no RestartSteps drop-in, and the script says why.
    expect(r.output).toContain("systemd 252 < 254");
    await expect(access(path.join(root, "etc/systemd/system/ccm-agent.service.d/10-restart-backoff.conf"))).rejects.toThrow();
    expect(await mode(path.join(root, "usr/local/bin/ccm"))).toBe("755");
  });

  it("changes nothing on a second run, and says so", async () => {
    const before = await snapshot(root);
    const r = await runScript(INSTALL_SH, ["agent", "--from", v1, "--config", config, "--root", root], { CCM_SYSTEMD_VERSION: "252" });
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain("nothing changed: ccm 1.0.0 (agent) is already installed as asked");
    expect(r.output).not.toMatch(/^ +changed:/m);
    expect(await snapshot(root)).toEqual(before);
  });

  it("keeps an edited config when run again without --config", async () => {
    const file = path.join(root, "etc/ccm/agent.yaml");
    await writeFile(file, "host: web-1\ndry_run: true\n");
    const r = await runScript(INSTALL_SH, ["agent", "--from", v1, "--root", root], { CCM_SYSTEMD_VERSION: "252" });
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain("kept; pass --config to replace it");
    expect(await readFile(file, "utf8")).toBe("host: web-1\ndry_run: true\n");
  });

  it("upgrades by a new release folder and a symlink flip, and rolls back by flipping back", async () => {
    const v2 = await fakeRelease(work, "1.1.0");
    const up = await runScript(INSTALL_SH, ["agent", "--from", v2, "--config", config, "--root", root], { CCM_SYSTEMD_VERSION: "252" });
    expect(up.code, up.output).toBe(0);
    expect(up.output).toContain("installed release 1.1.0");
    expect(await readlink(path.join(root, "opt/ccm/current"))).toBe("releases/1.1.0");
    expect(await readlink(path.join(root, "opt/ccm/previous"))).toBe("releases/1.0.0");
    // The old release stays for a rollback.
    expect((await readFile(path.join(root, "opt/ccm/releases/1.0.0/VERSION"), "utf8")).trim()).toBe("1.0.0");

    const back = await runScript(INSTALL_SH, ["activate", "1.0.0", "--root", root]);
    expect(back.code, back.output).toBe(0);
    expect(await readlink(path.join(root, "opt/ccm/current"))).toBe("releases/1.0.0");
    const again = await runScript(INSTALL_SH, ["activate", "1.0.0", "--root", root]);
    expect(again.output).toContain("nothing changed: 1.0.0 is already active");

    const missing = await runScript(INSTALL_SH, ["activate", "0.0.1", "--root", root]);
    expect(missing.code).not.toBe(0);
    expect(missing.output).toContain("release 0.0.1 is not installed");
  });

  it("refuses to overwrite a release with a different tarball of the same version unless --force", async () => {
    const rebuilt = await fakeRelease(work, "1.0.0", "-rebuilt");
    const refused = await runScript(INSTALL_SH, ["agent", "--from", rebuilt, "--root", root], { CCM_SYSTEMD_VERSION: "252" });
    expect(refused.code).not.toBe(0);
    expect(refused.output).toContain("installed from a different tarball");
    const forced = await runScript(INSTALL_SH, ["agent", "--from", rebuilt, "--root", root, "--force"], { CCM_SYSTEMD_VERSION: "252" });
    expect(forced.code, forced.output).toBe(0);
    expect(await readFile(path.join(root, "opt/ccm/releases/1.0.0/bin/ccm"), "utf8")).toContain("-rebuilt");
  });

  it("adds the exponential back-off drop-in on systemd >= 254 and removes it on older", async () => {
    const dropin = path.join(root, "etc/systemd/system/ccm-agent.service.d/10-restart-backoff.conf");
    const v3 = await fakeRelease(work, "1.2.0");
    const r = await runScript(INSTALL_SH, ["agent", "--from", v3, "--root", root], { CCM_SYSTEMD_VERSION: "255" });
    expect(r.code, r.output).toBe(0);
    expect(await readFile(dropin, "utf8")).toContain("RestartSteps=5");
    const old = await runScript(INSTALL_SH, ["agent", "--from", v3, "--root", root], { CCM_SYSTEMD_VERSION: "252" });
    expect(old.output).toContain("removed");
    await expect(access(dropin)).rejects.toThrow();
  });

  it("rejects what is not a release and bad arguments with a reason", async () => {
    const notRelease = path.join(work, "junk.tar.gz");
    await writeFile(notRelease, "not a tarball");
    const r = await runScript(INSTALL_SH, ["agent", "--from", notRelease, "--root", root]);
    expect(r.code).not.toBe(0);
    expect(r.output).toContain("is not a CCM release tarball");
    const hubConfig = await runScript(INSTALL_SH, ["hub", "--from", v1, "--config", config, "--root", path.join(work, "hubroot")]);
    expect(hubConfig.code).not.toBe(0);
    expect(hubConfig.output).toContain("pass --env <hub.env>, not --config");
    const unknown = await runScript(INSTALL_SH, ["agent", "--form", v1]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.output).toContain("unknown argument '--form'");
  });
});

describe("install.sh hub and uninstall", () => {
  it("installs the hub with its env file and no agent config, then uninstalls with --purge", async () => {
    const hubRoot = path.join(work, "hub-root");
    const tarball = await fakeRelease(work, "2.0.0");
    const env = path.join(work, "hub.env");
    await writeFile(env, "DATABASE_URL=postgres://ccm@db/ccm\n");
    const r = await runScript(INSTALL_SH, ["hub", "--from", tarball, "--env", env, "--root", hubRoot], { CCM_SYSTEMD_VERSION: "252" });
    expect(r.code, r.output).toBe(0);
    expect(await readFile(path.join(hubRoot, "etc/ccm/hub.env"), "utf8")).toBe("DATABASE_URL=postgres://ccm@db/ccm\n");
    expect(await mode(path.join(hubRoot, "etc/ccm/hub.env"))).toBe("600");
    await expect(access(path.join(hubRoot, "etc/ccm/agent.yaml"))).rejects.toThrow();
    expect(await readFile(path.join(hubRoot, "etc/systemd/system/ccm-hub.service"), "utf8")).toContain("ExecStart=/opt/ccm/current/bin/ccm hub");

    const gone = await runScript(INSTALL_SH, ["uninstall", "hub", "--purge", "--root", hubRoot]);
    expect(gone.code, gone.output).toBe(0);
    expect(await snapshot(hubRoot)).toEqual({ etc: "dir 755", "etc/systemd": "dir 755", "etc/systemd/system": "dir 755", opt: "dir 755", usr: "dir 755", "usr/local": "dir 755", "usr/local/bin": "dir 755", var: "dir 755", "var/lib": "dir 755" });
    const twice = await runScript(INSTALL_SH, ["uninstall", "hub", "--purge", "--root", hubRoot]);
    expect(twice.output).toContain("nothing changed: hub is not installed");
  });
});
