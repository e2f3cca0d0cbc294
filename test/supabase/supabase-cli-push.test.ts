import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { latestMigrationVersion } from "@ccm/store";
import { REPO_ROOT, runCcm } from "../support/processes.ts";
import { asRole, createSupabaseTestDatabase, type SupabaseTestDatabase } from "./supabase-db.ts";

// The real Supabase CLI (npm `supabase`, its Linux binary from the npm registry) pushes this
// repository's supabase/ folder — config.toml and every migration — to a Postgres shaped like
// Supabase's (API roles, auth schema, realtime stub), as `supabase link && supabase db push` does
// to a project. `--remote=<url>` is the CLI's own way to target a database by URL.

const exec = promisify(execFile);
const CLI = path.join(REPO_ROOT, "node_modules/.bin/supabase");
const available = existsSync(CLI);
let db: SupabaseTestDatabase | undefined;

async function push(): Promise<string> {
  const { stdout, stderr } = await exec(CLI, ["db", "push", `--remote=${db!.url}`, "--workdir", REPO_ROOT, "--skip-vault", "--yes"], {
    env: { ...process.env, SUPABASE_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" },
    timeout: 120_000,
  });
  return stdout + stderr;
}

beforeAll(async () => {
  if (available) db = await createSupabaseTestDatabase({ realtime: true, migrate: false });
});
afterAll(async () => {
  await db?.drop();
});

describe.skipIf(!available)("supabase db push (the real Supabase CLI) with this repository's supabase/ folder", () => {
  it("applies every migration in order and records them where ccm reads the schema version; a second push and `ccm db migrate` find nothing to do", async () => {
    const out = await push();
    expect(out).toContain("Finished supabase db push.");
    const { rows } = await db!.pool.query<{ n: number; v: string }>("select count(*)::int as n, ccm.schema_version() as v from supabase_migrations.schema_migrations");
    expect(rows[0]?.v).toBe(await latestMigrationVersion());

    expect(await push()).toContain("Remote database is up to date.");
    const migrate = await runCcm(["db", "migrate"], { DATABASE_URL: db!.url });
    expect(migrate.code, migrate.output).toBe(0);
    expect(migrate.output).toContain(`(${rows[0]?.n} migrations already applied)`);
  }, 180_000);

  it("the pushed schema has the least-privilege grants: anon runs agent_* only, the service role the hub's functions", async () => {
    await expect(asRole(db!.pool, "anon", { role: "anon" }, "select * from ccm.agent_claim_runs('not-a-token', 1, 30)")).rejects.toMatchObject({ code: "28000" });
    await expect(asRole(db!.pool, "anon", { role: "anon" }, "select * from ccm.recover_expired_leases(3)")).rejects.toMatchObject({ code: "42501" });
    await expect(asRole(db!.pool, "anon", { role: "anon" }, "select * from ccm.tasks")).rejects.toMatchObject({ code: "42501" });
    const [snap] = await asRole<{ v: unknown }>(db!.pool, "service_role", { role: "service_role" }, "select ccm.hub_metrics_snapshot() as v");
    expect(snap?.v).toMatchObject({ tasks: [], runs: [] });
  });
});

if (!available) {
  // Say why, in the run's output, instead of passing silently.
  console.warn(`supabase CLI not installed at ${CLI} (optional dependency for this platform): the db push test is skipped`);
}
