import { readFile } from "node:fs/promises";
import { commandSigner, type CommandSigner } from "@ccm/security";
import { BroadcastRejectedError, createCommandBroadcast, type Db } from "@ccm/store";
import { parse, UsageError } from "../args.ts";
import { defaultOperator } from "./approve.ts";
import { int, ROLLOUT_OPTIONS, SELECTOR_OPTIONS } from "./broadcast-options.ts";
import { parseSelector } from "./broadcast-selector.ts";

export const COMMAND_USAGE = `ccm broadcast command (--select k=v[,…] | --hosts 'glob,…' | --all) [--exclude-hosts 'glob,…'] --key FILE
              [--expires 15m] [--canary 1] [--batch 10%] [--max-failures 0] [--max-concurrency N]
              [--offline-ttl 600] [--run-timeout 1800] [--dry-run] [--by NAME] [--json] -- ARGV…`;

const MAX_EXPIRY_S = 24 * 3600;

/** "15m", "2h", "90s" or plain seconds; at most 24 h. */
export function parseExpiry(v: string): number {
  const m = /^([1-9][0-9]*)(s|m|h)?$/.exec(v.trim());
  if (!m) throw new UsageError(`--expires must look like 90s, 15m or 2h, got ${JSON.stringify(v)}`);
  const s = Number(m[1]) * (m[2] === "h" ? 3600 : m[2] === "m" ? 60 : 1);
  if (s > MAX_EXPIRY_S) throw new UsageError(`--expires is at most 24h (a signed command should not outlive the change window)`);
  return s;
}

/**
 * `ccm broadcast command … --key FILE -- argv…`: a broadcast of a signed ad-hoc command. The argv is
 * never joined into a shell line; each host's task id is chosen here and signed (task id, argv, host,
 * expiry) with the operator's private key, and the database creates the broadcast with exactly
 * those signed tasks in one call (see createCommandBroadcast), so no run is claimable unsigned.
 */
export async function commandBroadcast(db: Db, argv: string[]): Promise<void> {
  const dash = argv.indexOf("--");
  const command = dash >= 0 ? argv.slice(dash + 1) : [];
  if (command.length === 0) throw new UsageError(`the command goes after --\n${COMMAND_USAGE}`);
  const { values, positionals } = parse(argv.slice(0, dash), {
    ...SELECTOR_OPTIONS,
    key: { type: "string" },
    expires: { type: "string", default: "15m" },
    ...ROLLOUT_OPTIONS,
  });
  if (positionals.length > 0) throw new UsageError(`unexpected ${JSON.stringify(positionals[0])} before --\n${COMMAND_USAGE}`);
  if (!values.key) throw new UsageError(`--key FILE (an ed25519 private key from ccm keys generate) is required\n${COMMAND_USAGE}`);
  let signer: CommandSigner;
  try {
    signer = commandSigner(await readFile(values.key, "utf8"));
  } catch (err) {
    throw new UsageError(`--key ${values.key}: not a readable private key (${(err as Error).message})`);
  }
  const expiresAt = new Date(Date.now() + parseExpiry(values.expires) * 1000);
  const selector = parseSelector({ select: values.select, hosts: values.hosts, excludeHosts: values["exclude-hosts"], all: values.all });
  const row = await createCommandBroadcast(
    db,
    {
      selector,
      canary: int("canary", values.canary),
      batch: values.batch,
      max_failures: values["max-failures"],
      max_concurrency: int("max-concurrency", values["max-concurrency"]) ?? null,
      offline_ttl_s: int("offline-ttl", values["offline-ttl"]),
      run_timeout_s: int("run-timeout", values["run-timeout"]),
      dry_run: values["dry-run"],
      created_by: values.by ?? defaultOperator(),
    },
    { argv: command, expires_at: expiresAt.toISOString(), key_id: signer.keyId },
    (t) => signer.sign({ taskId: t.task_id, argv: command, target: t.host, expiresAt }),
  ).catch((err: unknown) => {
    if (err instanceof Error && err.name === "ZodError") throw new BroadcastRejectedError(`invalid broadcast: ${err.message}`);
    throw err;
  });
  if (values.json) console.log(JSON.stringify(row, null, 2));
  else console.log(row.id);
}
