import { getFleetPause, setFleetPause } from "@ccm/store";
import { parse } from "../args.ts";
import { resolveDb } from "../database.ts";
import { defaultOperator } from "./approve.ts";

/**
 * `ccm pause [--reason]` / `ccm resume` / `ccm pause --status`: the fleet-wide switch every agent checks
 * before each remediation step. Diagnosis goes on; nothing is changed on any host while paused.
 */
export async function pauseCommand(paused: boolean, argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const { values } = parse(argv, {
    reason: { type: "string" },
    by: { type: "string" },
    status: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  });
  const db = await resolveDb(env);
  try {
    const state = values.status ? await getFleetPause(db) : await setFleetPause(db, paused, values.by ?? defaultOperator(), values.reason);
    if (values.json) console.log(JSON.stringify(state, null, 2));
    else
      console.log(
        state.paused
          ? `fleet PAUSED by ${state.changed_by ?? "?"} at ${state.changed_at.toISOString()}${state.reason ? ` (${state.reason})` : ""}: agents diagnose but change nothing`
          : `fleet active (last change by ${state.changed_by ?? "-"} at ${state.changed_at.toISOString()})`,
      );
  } finally {
    await db.close();
  }
}
