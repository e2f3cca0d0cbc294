import { builtinPlaybooks, validateBroadcastParams } from "@ccm/playbooks";
import {
  BroadcastNotFoundError,
  BroadcastRejectedError,
  BroadcastStateError,
  controlBroadcast,
  createBroadcast,
  getBroadcast,
  listBroadcasts,
  type Db,
} from "@ccm/store";
import { parse, UsageError } from "../args.ts";
import { resolveDb } from "../database.ts";
import { defaultOperator } from "./approve.ts";
import { COMMAND_USAGE, commandBroadcast } from "./broadcast-command.ts";
import { int, ROLLOUT_OPTIONS, SELECTOR_OPTIONS } from "./broadcast-options.ts";
import { formatBroadcast, formatBroadcastList } from "./broadcast-format.ts";
import { parseParams, parseSelector } from "./broadcast-selector.ts";

const USAGE = `ccm broadcast <playbook> (--select k=v[,k=a|b][,k!=v] | --hosts 'glob,…' | --all) [--exclude-hosts 'glob,…']
              [--param k=v]… [--canary 1] [--batch 10%] [--max-failures 0] [--max-concurrency N]
              [--offline-ttl 600] [--run-timeout 1800] [--dry-run] [--by NAME] [--json]
${COMMAND_USAGE}
ccm broadcast list [--json]
ccm broadcast show <id> [--json] [--watch]
ccm broadcast pause|resume|cancel <id> [--reason R] [--by NAME]`;

/** `ccm broadcast …`: create a fleet broadcast (ccm.op_create_broadcast), watch it, steer it. */
export async function broadcastCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const [sub, ...rest] = argv;
  if (!sub || sub === "--help" || sub === "-h") throw new UsageError(USAGE);
  const db = await resolveDb(env);
  try {
    if (sub === "list") return await list(db, rest);
    if (sub === "show") return await show(db, rest);
    if (sub === "command") return await commandBroadcast(db, rest);
    if (sub === "pause" || sub === "resume" || sub === "cancel") return await control(db, sub, rest);
    return await create(db, sub, rest);
  } catch (err) {
    if (err instanceof BroadcastRejectedError || err instanceof BroadcastNotFoundError || err instanceof BroadcastStateError) {
      console.error(`ccm: ${err.message}`);
      process.exitCode = 1;
      return;
    }
    throw err;
  } finally {
    await db.close();
  }
}

async function create(db: Db, playbook: string, argv: string[]): Promise<void> {
  const { values } = parse(argv, {
    ...SELECTOR_OPTIONS,
    param: { type: "string", multiple: true },
    ...ROLLOUT_OPTIONS,
  });
  const selector = parseSelector({ select: values.select, hosts: values.hosts, excludeHosts: values["exclude-hosts"], all: values.all });
  const params = parseParams(values.param);
  const builtin = builtinPlaybooks().find((p) => p.name === playbook);
  if (builtin) {
    const v = validateBroadcastParams(builtin, params);
    if (!v.ok) throw new BroadcastRejectedError(v.reason);
  }
  const row = await createBroadcast(db, {
    playbook,
    params,
    selector,
    canary: int("canary", values.canary),
    batch: values.batch,
    max_failures: values["max-failures"],
    max_concurrency: int("max-concurrency", values["max-concurrency"]) ?? null,
    offline_ttl_s: int("offline-ttl", values["offline-ttl"]),
    run_timeout_s: int("run-timeout", values["run-timeout"]),
    dry_run: values["dry-run"],
    created_by: values.by ?? defaultOperator(),
  }).catch((err: unknown) => {
    // zod refusals of the spec (before any SQL) read like the database's own.
    if (err instanceof Error && err.name === "ZodError") throw new BroadcastRejectedError(`invalid broadcast: ${err.message}`);
    throw err;
  });
  if (values.json) console.log(JSON.stringify(row, null, 2));
  else console.log(row.id);
}

async function list(db: Db, argv: string[]): Promise<void> {
  const { values } = parse(argv, { json: { type: "boolean", default: false }, limit: { type: "string", default: "20" } });
  const rows = await listBroadcasts(db, int("limit", values.limit) ?? 20);
  console.log(values.json ? JSON.stringify(rows, null, 2) : formatBroadcastList(rows));
}

async function show(db: Db, argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, { json: { type: "boolean", default: false }, watch: { type: "boolean", default: false } });
  const id = positionals[0];
  if (!id) throw new UsageError("ccm broadcast show <id>: the broadcast id (or a unique prefix) is required");
  const tty = process.stdout.isTTY === true;
  for (;;) {
    const b = await getBroadcast(db, id);
    if (values.json) console.log(JSON.stringify(b, null, 2));
    else {
      if (values.watch && tty) process.stdout.write("\x1b[2J\x1b[H");
      console.log(formatBroadcast(b, { bar: tty || values.watch }));
    }
    if (!values.watch || b.finished_at) return;
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

async function control(db: Db, action: "pause" | "resume" | "cancel", argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, { by: { type: "string" }, reason: { type: "string" } });
  const id = positionals[0];
  if (!id) throw new UsageError(`ccm broadcast ${action} <id> [--reason R] [--by NAME]`);
  const status = await controlBroadcast(db, id, action, values.by ?? defaultOperator(), values.reason);
  console.log(`broadcast ${id}: ${status}`);
}
