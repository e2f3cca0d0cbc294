import { parseConfigOrThrow } from "@ccm/schemas";
import { buildDigest, digestLines, enqueueAdhocDigest, notifyEnvSchema } from "@ccm/notify";
import { parse, UsageError } from "../args.ts";
import { resolveDb } from "../database.ts";

const UNITS: Record<string, number> = { m: 60, h: 3600, d: 86_400 };

/** "12h" → milliseconds; minutes, hours or days. */
export function parseSince(text: string): number {
  const m = /^(\d+)([mhd])$/.exec(text.trim());
  if (!m) throw new UsageError(`--since must look like 30m, 12h or 2d, got ${text}`);
  return Number(m[1]) * (UNITS[m[2] as string] ?? 0) * 1000;
}

/** `ccm digest --since 12h [--dry-run] [--json]`: print the digest; without --dry-run also post it to Slack. */
export async function digestCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const { values } = parse(argv, {
    since: { type: "string", default: "24h" },
    "dry-run": { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  });
  const sinceMs = parseSince(values.since);
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const config = parseConfigOrThrow(
    notifyEnvSchema.pick({ CCM_DIGEST_TZ: true, CCM_AGENT_OFFLINE_AFTER_S: true, CCM_SLACK_DIGEST_CHANNEL: true, CCM_SLACK_DEFAULT_CHANNEL: true }),
    present,
    "the environment",
  );
  // SUPABASE_URL + the service-role key: PostgREST rpc; else DATABASE_URL or the embedded Postgres.
  const db = await resolveDb(env);
  try {
    const end = new Date();
    const digest = await buildDigest(db, new Date(end.getTime() - sinceMs), end, config.CCM_AGENT_OFFLINE_AFTER_S);
    console.log(values.json ? JSON.stringify(digest, null, 2) : digestLines(digest, config.CCM_DIGEST_TZ).join("\n"));
    if (!values["dry-run"]) {
      const channel = config.CCM_SLACK_DIGEST_CHANNEL ?? config.CCM_SLACK_DEFAULT_CHANNEL;
      const id = await enqueueAdhocDigest(db, digest, channel, config.CCM_DIGEST_TZ);
      console.error(`queued for Slack ${channel} (notification ${id ?? "already queued"}); the hub delivers it`);
    }
  } finally {
    await db.close();
  }
}
