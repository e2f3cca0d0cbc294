import { createLogger } from "@ccm/logger";
import { parseHubConfig, startHub } from "@ccm/hub";
import { resolveDatabase } from "../database.ts";
import { onShutdown } from "../lifecycle.ts";

export async function hubCommand(env: NodeJS.ProcessEnv): Promise<void> {
  const config = parseHubConfig(env);
  const log = createLogger("ccm-hub");
  // SUPABASE_URL: the hub talks to PostgREST; no local database is started.
  const db = config.SUPABASE_URL ? undefined : await resolveDatabase(env);
  if (db?.kind === "embedded") log.info({ home: env.CCM_HOME || ".ccm" }, "DATABASE_URL not set: using the embedded Postgres");
  const hub = await startHub(config, db?.url, log);
  onShutdown(async () => {
    await hub.close();
    await db?.stop();
  });
}
