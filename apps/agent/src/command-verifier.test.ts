import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { generateOperatorKeyPair, signCommand } from "@ccm/security";
import { agentCommandVerifier } from "./command-verifier.ts";

const dir = mkdtempSync(path.join(os.tmpdir(), "ccm-agent-state-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("agentCommandVerifier", () => {
  it("uses the agent's trusted keys and state dir: valid once, then replayed; other keys refused", () => {
    const op = generateOperatorKeyPair();
    const other = generateOperatorKeyPair();
    const verifier = agentCommandVerifier({ trustedCommandKeys: [op.publicKeyPem], stateDir: dir });
    const cmd = { taskId: "t-1", argv: ["uptime"], target: "web-1", expiresAt: new Date(Date.now() + 60_000) };
    const signed = signCommand(cmd, op.privateKeyPem);
    expect(verifier.verify(signed)).toMatchObject({ ok: true });
    expect(verifier.verify(signed)).toMatchObject({ ok: false, reason: "replayed" });
    expect(verifier.verify(signCommand({ ...cmd, taskId: "t-2" }, other.privateKeyPem))).toMatchObject({ ok: false, reason: "untrusted_key" });
  });
});
