import path from "node:path";
import { startEmbeddedPostgres } from "@ccm/store";

export interface ResolvedDatabase {
  url: string;
  kind: "external" | "embedded";
  stop(): Promise<void>;
}

/** DATABASE_URL when set; otherwise the embedded Postgres under CCM_HOME (default .ccm), started or reused. */
export async function resolveDatabase(env: Record<string, string | undefined>): Promise<ResolvedDatabase> {
  if (env.DATABASE_URL) {
    return { url: env.DATABASE_URL, kind: "external", stop: async () => undefined };
  }
  const home = path.resolve(env.CCM_HOME || ".ccm");
  const db = await startEmbeddedPostgres(path.join(home, "postgres"));
  return { url: db.url, kind: "embedded", stop: () => db.stop() };
}
