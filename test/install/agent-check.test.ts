import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { checkReportSchema, type CheckReport } from "../../apps/cli/src/agent-check/check-result.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";
import { freePort, runCcm } from "../support/processes.ts";

// `ccm agent check` as an operator runs it: a real process against a real database.
let db: TestDatabase;
let dir: string;
const HOST = "check-host";
const TOKEN = randomBytes(32).toString("base64url");
const OTHER_TOKEN = randomBytes(32).toString("base64url");

async function writeConfig(name: string, content: Record<string, unknown>): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, stringify(content));
  return file;
}

function goodConfig(): Record<string, unknown> {
  return {
    host: HOST,
    database_url: db.url,
    playbooks: { "disk-full": { log_dirs: [path.join(dir, "logs")], temp_dirs: [path.join(dir, "tmp")] } },
  };
}

async function check(config: string, env: Record<string, string> = {}, json = true) {
  const run = await runCcm(["agent", "check", ...(json ? ["--json"] : [])], {
    CCM_AGENT_CONFIG: config,
    CCM_STATE_DIR: path.join(dir, "state"),
    CCM_AGENT_METRICS_PORT: String(await freePort()),
    // Neutralise anything the test runner's environment may carry.
    DATABASE_URL: "",
    SUPABASE_URL: "",
    CCM_AGENT_TOKEN: "",
    CCM_AGENT_TOKEN_FILE: "",
    ...env,
  });
  const report: CheckReport | undefined = json ? checkReportSchema.parse(JSON.parse(run.stdout)) : undefined;
  return { ...run, report, status: (id: string) => report?.checks.find((c) => c.id === id) };
}

beforeAll(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(path.join(os.tmpdir(), "ccm-agent-check-"));
  for (const d of ["logs", "tmp", "state"]) await mkdir(path.join(dir, d));
  await db.pool.query("select ccm.op_enroll_agent($1, ccm.token_hash($2))", [HOST, TOKEN]);
  await db.pool.query("select ccm.op_enroll_agent($1, ccm.token_hash($2))", ["other-host", OTHER_TOKEN]);
});

afterAll(async () => {
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("ccm agent check", { timeout: 120_000 }, () => {
  it("passes every check on a well-configured host, in text and JSON", async () => {
    const config = await writeConfig("good.yaml", goodConfig());
    const json = await check(config, { CCM_AGENT_TOKEN: TOKEN });
    expect(json.code, json.output).toBe(0);
    expect(json.report?.ok).toBe(true);
    expect(json.report?.checks.map((c) => [c.id, c.status])).toEqual([
      ["config", "pass"],
      ["database", "pass"],
      ["token", "pass"],
      ["state-dir", "pass"],
      ["playbooks", "pass"],
      ["metrics-port", "pass"],
    ]);
    expect(json.status("token")?.detail).toContain(`accepted for host ${HOST}`);

    const text = await check(config, { CCM_AGENT_TOKEN: TOKEN }, false);
    expect(text.code, text.output).toBe(0);
    expect(text.stdout.match(/^✓ /gm)).toHaveLength(6);
    expect(text.stdout).toContain("all checks passed");
  });

  it("skips the token check honestly when no token is configured, and still exits 0", async () => {
    const config = await writeConfig("no-token.yaml", goodConfig());
    const run = await check(config);
    expect(run.code, run.output).toBe(0);
    expect(run.status("token")).toMatchObject({ status: "skip", detail: expect.stringContaining("no token configured") });
  });

  it("fails on a broken config, naming the offending key, and exits 1", async () => {
    const config = await writeConfig("broken.yaml", {
      ...goodConfig(),
      playbooks: { "disk-full": { log_dir: ["/var/log"] } }, // typo of log_dirs
    });
    const run = await check(config, {}, false);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^✗ config valid: .*broken\.yaml:\n {4}playbooks\.disk-full: .*\(log_dir\)$/m);
    expect(run.stdout).toMatch(/^ {4}fix: /m);
    // Checks that need a valid config are skipped, not failed twice.
    expect(run.stdout).toMatch(/^– playbooks lint: skipped/m);
    expect(run.stdout).toContain("1 of 6 checks failed");

    const topLevel = await writeConfig("broken-top.yaml", { ...goodConfig(), "dry-run": true }); // typo of dry_run
    const json = await check(topLevel);
    expect(json.code).toBe(1);
    expect(json.status("config")).toMatchObject({ status: "fail", detail: expect.stringContaining('"dry-run"') });
  });

  it("reports each broken part of the host with its fix", async () => {
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(0, () => r()));
    const busyPort = (holder.address() as net.AddressInfo).port;
    try {
      const config = await writeConfig("host-broken.yaml", {
        ...goodConfig(),
        playbooks: { "disk-full": { log_dirs: [path.join(dir, "no-such-folder")] } },
      });
      const run = await check(config, {
        CCM_AGENT_TOKEN: OTHER_TOKEN,
        CCM_STATE_DIR: path.join(dir, "missing-state"),
        CCM_AGENT_METRICS_PORT: String(busyPort),
      });
      expect(run.code, run.output).toBe(1);
      expect(run.report?.ok).toBe(false);
      expect(run.status("config")?.status).toBe("pass");
      expect(run.status("database")?.status).toBe("pass");
      expect(run.status("token")).toMatchObject({ status: "fail", detail: expect.stringContaining("belongs to host other-host") });
      expect(run.status("state-dir")).toMatchObject({ status: "fail", fix: expect.stringContaining("install -d") });
      expect(run.status("playbooks")).toMatchObject({ status: "fail", detail: expect.stringContaining("playbooks.disk-full.log_dirs") });
      expect(run.status("metrics-port")).toMatchObject({ status: "fail", fix: expect.stringContaining("CCM_AGENT_METRICS_PORT") });
    } finally {
      holder.close();
    }
  });

  it("fails an unknown token and an unreachable database", async () => {
    const config = await writeConfig("token.yaml", goodConfig());
    const rejected = await check(config, { CCM_AGENT_TOKEN: randomBytes(32).toString("base64url") });
    expect(rejected.code).toBe(1);
    expect(rejected.status("token")).toMatchObject({ status: "fail", detail: expect.stringContaining("rejected"), fix: expect.stringContaining("ccm agent rotate") });

    const closed = await freePort();
    const unreachable = await check(config, { DATABASE_URL: `postgres://ccm:secret@127.0.0.1:${closed}/ccm`, CCM_AGENT_TOKEN: TOKEN });
    expect(unreachable.code).toBe(1);
    const database = unreachable.status("database");
    expect(database).toMatchObject({ status: "fail", detail: expect.stringContaining("ECONNREFUSED") });
    expect(database?.detail).not.toContain("secret");
    expect(unreachable.status("token")?.status).toBe("skip");
  });
});
