import { migrate } from "@ccm/store";
import { UsageError } from "../args.ts";
import { OperatorConfigError, resolveDatabase } from "../database.ts";

export async function dbCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const [sub] = argv;
  if (sub !== "migrate") throw new UsageError(`unknown db command ${sub ?? "(none)"}; try: ccm db migrate`);
  if (env.SUPABASE_URL && !env.DATABASE_URL) {
    // PostgREST cannot run DDL; without this the embedded Postgres would be migrated instead.
    throw new OperatorConfigError(
      "migrations on Supabase are applied with `supabase db push` (or set DATABASE_URL to the project's direct connection string)",
    );
  }
  const db = await resolveDatabase(env);
  try {
    const { applied, skipped } = await migrate(db.url, { log: (m) => console.log(m) });
    console.log(
      applied.length === 0
        ? `database schema up to date (${skipped.length} migrations already applied)`
        : `applied ${applied.length} migration(s), ${skipped.length} already applied`,
    );
  } finally {
    await db.stop();
  }
}
