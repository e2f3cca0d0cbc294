import os from "node:os";
import { decideApproval, resolveRunId } from "@ccm/store";
import { parse, UsageError } from "../args.ts";
import { resolveDb } from "../database.ts";

/** Who the CLI records as the decider when --by is not given. */
export function defaultOperator(): string {
  return `${os.userInfo().username}@${os.hostname()}`;
}

/** `ccm approve <run>` / `ccm reject <run>`: decide a run waiting at awaiting_approval. Exit 1 when it was already decided. */
export async function decideCommand(decision: "approved" | "rejected", argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const verb = decision === "approved" ? "approve" : "reject";
  const { values, positionals } = parse(argv, {
    by: { type: "string" },
    reason: { type: "string" },
    json: { type: "boolean", default: false },
  });
  const id = positionals[0];
  if (!id) throw new UsageError(`ccm ${verb} <run id or unique prefix> [--reason TEXT] [--by NAME]`);
  const by = values.by ?? defaultOperator();

  const db = await resolveDb(env);
  try {
    const runId = await resolveRunId(db, id);
    if (!runId) throw new UsageError(`no single run matches ${JSON.stringify(id)} (give the run id from ccm tasks show)`);
    const r = await decideApproval(db, runId, decision, by, values.reason);
    if (values.json) console.log(JSON.stringify({ run_id: runId, ...r }, null, 2));
    if (r.outcome === "decided") {
      if (!values.json) {
        console.log(
          decision === "approved"
            ? `run ${runId} approved by ${by}; the agent resumes in run ${r.continuation_run_id}`
            : `run ${runId} rejected by ${by}; task cancelled`,
        );
      }
      return;
    }
    if (!values.json) {
      console.error(
        r.outcome === "already_decided"
          ? `ccm: run ${runId} was already ${r.decision} by ${r.decided_by} at ${r.decided_at?.toISOString()}; nothing changed`
          : r.outcome === "not_awaiting_approval"
            ? `ccm: run ${runId} is not awaiting approval; nothing changed`
            : `ccm: run ${runId} never asked for approval`,
      );
    }
    process.exitCode = 1;
  } finally {
    await db.close();
  }
}
