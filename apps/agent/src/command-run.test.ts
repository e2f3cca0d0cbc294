import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { generateOperatorKeyPair, signCommand } from "@ccm/security";
import { afterEach, describe, expect, it } from "vitest";
import { gateCommand } from "./command-run.ts";
import { agentCommandVerifier } from "./command-verifier.ts";

const operator = generateOperatorKeyPair();
const dirs: string[] = [];
const verifier = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), "ccm-gate-"));
  dirs.push(d);
  return agentCommandVerifier({ trustedCommandKeys: [operator.publicKeyPem], stateDir: d });
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const signed = () => signCommand({ taskId: "t-1", argv: ["/bin/echo", "hi"], target: "web-1", expiresAt: new Date(Date.now() + 60_000) }, operator.privateKeyPem);

describe("gateCommand", () => {
  it("accepts the command signed for this task on this host, once", () => {
    const v = verifier();
    const c = signed();
    expect(gateCommand(v, c, "t-1", "web-1")).toMatchObject({ ok: true, argv: ["/bin/echo", "hi"], keyId: operator.keyId });
    expect(gateCommand(v, c, "t-1", "web-1")).toMatchObject({ ok: false, reason: "replayed" });
  });

  it("refuses a command copied onto another task or host as altered, without spending it", () => {
    const v = verifier();
    const c = signed();
    expect(gateCommand(v, c, "t-2", "web-1")).toMatchObject({ ok: false, reason: "altered" });
    expect(gateCommand(v, c, "t-1", "web-2")).toMatchObject({ ok: false, reason: "altered" });
    expect(gateCommand(v, c, "t-1", "web-1")).toMatchObject({ ok: true });
  });

  it("refuses a missing command as unsigned", () => {
    expect(gateCommand(verifier(), null, "t-1", "web-1")).toMatchObject({ ok: false, reason: "unsigned" });
    expect(gateCommand(verifier(), undefined, "t-1", "web-1")).toMatchObject({ ok: false, reason: "unsigned" });
  });
});
