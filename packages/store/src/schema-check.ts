import { readdir } from "node:fs/promises";
import type { Db } from "./db.ts";
import { DatabaseUnavailableError } from "./errors.ts";
import { defaultMigrationsDir } from "./migrate.ts";

/** The database's schema is missing or older than this release; `supabase db push` fixes it. */
export class SchemaOutdatedError extends Error {
  override readonly name = "SchemaOutdatedError";
  readonly found: string | null;
  readonly needed: string;
  constructor(found: string | null, needed: string, message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.found = found;
    this.needed = needed;
  }
}

/** Version (timestamp) of the newest migration file this release ships. */
export async function latestMigrationVersion(dir = defaultMigrationsDir()): Promise<string> {
  const versions = (await readdir(dir)).map((f) => /^(\d+)_[a-z0-9_]+\.sql$/.exec(f)?.[1]).filter((v): v is string => !!v).sort();
  const last = versions.at(-1);
  if (!last) throw new Error(`no migrations in ${dir}`);
  return last;
}

/**
 * A process that cannot migrate (the supabase transport: PostgREST cannot run DDL) checks that
 * `supabase db push` has applied at least this release's migrations, and says what to do if not.
 */
export async function assertSchemaCurrent(db: Db, dir?: string): Promise<string> {
  const needed = await latestMigrationVersion(dir);
  let found: string | null;
  try {
    found = await db.call<string | null>("schema_version");
  } catch (err) {
    if (err instanceof DatabaseUnavailableError) throw err;
    const code = (err as { code?: string }).code;
    const hint =
      code === "PGRST106"
        ? "the ccm schema is not exposed by the API: add \"ccm\" to [api] schemas in supabase/config.toml (or Dashboard → API settings → Exposed schemas)"
        : code === "PGRST202" || code === "42883"
          ? "the ccm schema is not deployed: run `supabase link && supabase db push` from this release's folder"
          : `cannot read the schema version: ${(err as Error).message}`;
    throw new SchemaOutdatedError(null, needed, hint, { cause: err });
  }
  if (found === null || found < needed) {
    throw new SchemaOutdatedError(
      found,
      needed,
      `database schema is at ${found ?? "nothing"}, this release needs ${needed}: run \`supabase db push\` (or \`ccm db migrate\` with DATABASE_URL)`,
    );
  }
  return found;
}
