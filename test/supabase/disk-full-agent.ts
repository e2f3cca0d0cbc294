import { mkdir, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import { stringify } from "yaml";

/**
 * A folder for a supabase-transport agent running disk-full: `log/app.log.1` (30 days old, to be
 * removed), `log/app.log` (live, kept) and `agent.yaml` pointing disk-full at that folder only.
 */
export async function diskFullAgentFixture(dir: string, host: string): Promise<{ logs: string; config: string }> {
  const logs = path.join(dir, "log");
  await mkdir(logs);
  const old = new Date(Date.now() - 30 * 86_400_000);
  await writeFile(path.join(logs, "app.log.1"), "x".repeat(4096));
  await utimes(path.join(logs, "app.log.1"), old, old);
  await writeFile(path.join(logs, "app.log"), "live");
  const config = path.join(dir, "agent.yaml");
  await writeFile(
    config,
    stringify({
      host,
      poll_interval_ms: 1000,
      playbooks: { "disk-full": { log_dirs: [logs], target_used_percent: 100, ignore_unreadable_processes: ["process_api"] } },
    }),
  );
  return { logs, config };
}
