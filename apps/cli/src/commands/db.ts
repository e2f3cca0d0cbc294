import { migrate } from "@ccm/store";
import { UsageError } from "../args.ts";
import { resolveDatabase } from "../database.ts";

export async function dbCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const [sub] = argv;
  if (sub !== "migrate") throw new UsageError(`unknown db command ${sub ?? "(none)"}; try: ccm db migrate`);
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
