import { describe, expect, it } from "vitest";
import { builtinPlaybooks } from "@ccm/playbooks";
import { broadcastStatus, broadcastSummary, selectBroadcastPlaybook } from "./broadcast-run.ts";

const spec = (playbook: string, params: Record<string, unknown> = {}) => ({ id: "b1", playbook, params, dry_run: false, created_by: "alice" });

describe("selectBroadcastPlaybook", () => {
  const playbooks = builtinPlaybooks();
  it("takes exactly the named playbook with validated params", () => {
    const s = selectBroadcastPlaybook(playbooks, spec("package-update", { name: "curl", version: "8.5.0" }), "web-1");
    expect(s).toMatchObject({ ok: true, params: { name: "curl", version: "8.5.0" }, by: "alice" });
    if (s.ok) expect(s.playbook.name).toBe("package-update");
    // disk-full, which otherwise matches alerts by label, gets its mountpoint as a param.
    const d = selectBroadcastPlaybook(playbooks, spec("disk-full", { mountpoint: "/var" }), "web-1");
    expect(d).toMatchObject({ ok: true, labels: { mountpoint: "/var" } });
  });
  it("refuses unknown playbooks, the unknown playbook, and bad params, with the reason", () => {
    expect(selectBroadcastPlaybook(playbooks, spec("nope"), "web-1")).toEqual({ ok: false, reason: "playbook nope is not offered by the agent on web-1; refused" });
    expect(selectBroadcastPlaybook(playbooks, spec("unknown"), "web-1").ok).toBe(false);
    const bad = selectBroadcastPlaybook(playbooks, spec("package-update", { name: "-rf" }), "web-1");
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.reason).toMatch(/^invalid params for package-update: name: /);
    expect(selectBroadcastPlaybook(playbooks, spec("collect-facts", { extra: "1" }), "web-1").ok).toBe(false);
  });
  it("reports escalations as failures without the alert wording", () => {
    expect(broadcastStatus("escalated")).toBe("failed");
    expect(broadcastStatus("succeeded")).toBe("succeeded");
    expect(broadcastSummary("x: E: gone (exit 100): needs a human")).toBe("x: E: gone (exit 100)");
  });
});
