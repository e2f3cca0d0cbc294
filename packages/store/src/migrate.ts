import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";
import pg from "pg";
import { MigrationError } from "./errors.ts";

/** supabase/migrations of this checkout; CCM_MIGRATIONS_DIR overrides it for packaged installs. */
export function defaultMigrationsDir(): string {
  return (
    process.env.CCM_MIGRATIONS_DIR ??
    fileURLToPath(new URL("../../../supabase/migrations/", import.meta.url))
  );
}

export interface MigrationResult {
  applied: string[];
  skipped: string[];
}

// Same table the Supabase CLI uses, so `supabase db push` and `ccm db migrate` agree on what ran.
const TRACKING_SQL = `
  create schema if not exists supabase_migrations;
  create table if not exists supabase_migrations.schema_migrations (
    version text primary key,
    statements text[],
    name text
  );`;

// Arbitrary constant: serialises concurrent migrators (two hubs starting together).
const MIGRATION_LOCK_KEY = 7_413_001;

/** Apply every migration not yet recorded, each in its own transaction. A second call is a no-op. */
export async function migrate(
  connectionString: string,
  options: { dir?: string; log?: (msg: string) => void } = {},
): Promise<MigrationResult> {
  const dir = options.dir ?? defaultMigrationsDir();
  const files = (await readdir(dir)).filter((f) => /^\d+_[a-z0-9_]+\.sql$/.test(f)).sort();
  const client = new pg.Client({ connectionString, application_name: "ccm-migrate" });
  await client.connect();
  const result: MigrationResult = { applied: [], skipped: [] };
  try {
    await client.query("select pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
    await client.query(TRACKING_SQL);
    const { rows } = await client.query<{ version: string }>(
      "select version from supabase_migrations.schema_migrations",
    );
    const done = new Set(rows.map((r) => r.version));
    for (const file of files) {
      const [version, ...nameParts] = file.replace(/\.sql$/, "").split("_");
      if (!version) continue;
      if (done.has(version)) {
        result.skipped.push(file);
        continue;
      }
      const sql = await readFile(path.join(dir, file), "utf8");
      try {
        await client.query("begin");
        await client.query(sql);
        await client.query(
          "insert into supabase_migrations.schema_migrations (version, name, statements) values ($1, $2, $3)",
          [version, nameParts.join("_"), [sql]],
        );
        await client.query("commit");
      } catch (err) {
        await client.query("rollback").catch(() => undefined);
        throw new MigrationError(file, { cause: err });
      }
      options.log?.(`applied ${file}`);
      result.applied.push(file);
    }
  } finally {
    await client.query("select pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
  return result;
}
