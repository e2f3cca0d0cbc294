import { readFile } from "node:fs/promises";
import { errnoCode } from "../disk-full/errno.ts";

/** Why the fleet or this host says "do not remediate now". Mirrors ccm.remediation_gate. */
export interface GateBlock {
  kind: "paused" | "maintenance";
  mode?: "wait" | "skip";
  name?: string;
  ends_at?: string;
  by?: string | null;
  reason?: string | null;
}

/** Mirrors ccm.begin_remediation. */
export type BeginResult = { ok: true } | ({ ok: false; reason: "budget" | "concurrency" } & Record<string, unknown>);

/** A safety rail stopped remediation; the run is escalated (or skipped) and says which rail and why. */
export class RemediationBlocked extends Error {
  override readonly name = "RemediationBlocked";
  constructor(
    readonly rail: "stop_file" | "paused" | "maintenance" | "budget" | "concurrency",
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** The local stop file: when it exists, this host remediates nothing. Its first line is shown as the reason. */
export async function readStopFile(file: string | null): Promise<string | null> {
  if (!file) return null;
  try {
    const text = await readFile(file, { encoding: "utf8", flag: "r" });
    const line = text.split("\n")[0]?.trim().slice(0, 200);
    return line || "(no reason given)";
  } catch (err) {
    const code = errnoCode(err);
    if (code === "ENOENT" || code === "ENOTDIR") return null;
    // Exists but unreadable (EACCES, EISDIR): an operator made it, so honour it.
    return `(stop file present but unreadable: ${code})`;
  }
}

export function describeGate(g: GateBlock): string {
  if (g.kind === "paused") return `fleet paused${g.by ? ` by ${g.by}` : ""}${g.reason ? `: ${g.reason}` : ""}`;
  return `maintenance window ${g.name ?? "?"} (${g.mode ?? "wait"}) until ${g.ends_at ?? "?"}${g.reason ? `: ${g.reason}` : ""}`;
}
