import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { checkCommandSignature, commandSigner, signCommand } from "./command-signature.ts";
import { createCommandVerifier } from "./command-verifier.ts";
import { generateOperatorKeyPair, loadTrustedKeys } from "./keys.ts";

const operator = generateOperatorKeyPair();
const stranger = generateOperatorKeyPair();
// The replay guard prunes by the real clock on load, so the test clock starts at the real now.
const NOW = new Date();
const LATER = new Date(NOW.getTime() + 10 * 60_000);
const dirs: string[] = [];
const stateDir = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), "ccm-sig-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const command = { taskId: "task-1", argv: ["systemctl", "restart", "nginx"], target: "web-1", expiresAt: LATER };

describe("signed ad-hoc commands", () => {
  const trusted = loadTrustedKeys([operator.publicKeyPem]);

  it("accepts a command signed by a trusted key before it expires", () => {
    const signed = signCommand(command, operator.privateKeyPem);
    const v = checkCommandSignature(signed, trusted, NOW);
    expect(v).toEqual({ ok: true, command: signed });
  });

  it("a signer parsed once signs exactly what signCommand signs, for any number of hosts", () => {
    const signer = commandSigner(operator.privateKeyPem);
    expect(signer.keyId).toBe(operator.keyId);
    for (const target of ["web-1", "web-2"]) {
      const signed = signer.sign({ ...command, target }, "nonce-0123456789");
      expect(signed).toEqual(signCommand({ ...command, target }, operator.privateKeyPem, "nonce-0123456789"));
      expect(checkCommandSignature(signed, trusted, NOW)).toEqual({ ok: true, command: signed });
    }
    expect(() => commandSigner(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey)).toThrow(/must be ed25519, got ec/);
  });

  it("refuses a command signed by a key the agent does not trust", () => {
    const v = checkCommandSignature(signCommand(command, stranger.privateKeyPem), trusted, NOW);
    expect(v).toMatchObject({ ok: false, reason: "untrusted_key" });
  });

  it("refuses a forged signature that claims a trusted key id", () => {
    const forged = { ...signCommand(command, stranger.privateKeyPem), keyId: operator.keyId };
    expect(checkCommandSignature(forged, trusted, NOW)).toMatchObject({ ok: false, reason: "bad_signature" });
  });

  it("refuses altered argv, target, task id or expiry", () => {
    const signed = signCommand(command, operator.privateKeyPem);
    const alterations = [
      { ...signed, argv: ["systemctl", "stop", "nginx"] },
      { ...signed, argv: ["systemctl restart", "nginx"] },
      { ...signed, target: "db-1" },
      { ...signed, taskId: "task-2" },
      { ...signed, expiresAt: "2027-01-01T00:00:00.000Z" },
    ];
    for (const altered of alterations) {
      expect(checkCommandSignature(altered, trusted, NOW), JSON.stringify(altered)).toMatchObject({ ok: false, reason: "bad_signature" });
    }
  });

  it("refuses an expired command", () => {
    const signed = signCommand({ ...command, expiresAt: NOW }, operator.privateKeyPem);
    expect(checkCommandSignature(signed, trusted, NOW)).toMatchObject({ ok: false, reason: "expired" });
  });

  it("refuses unsigned and malformed commands", () => {
    const { signature: _s, ...unsigned } = signCommand(command, operator.privateKeyPem);
    expect(checkCommandSignature(unsigned, trusted, NOW)).toMatchObject({ ok: false, reason: "unsigned" });
    expect(checkCommandSignature({ ...command, signature: "x" }, trusted, NOW)).toMatchObject({ ok: false, reason: "malformed" });
    expect(checkCommandSignature(null, trusted, NOW)).toMatchObject({ ok: false, reason: "unsigned" });
  });

  it("refuses a replayed command, also after the agent restarts (state dir)", () => {
    const dir = stateDir();
    const signed = signCommand(command, operator.privateKeyPem);
    const first = createCommandVerifier({ trustedKeys: [operator.publicKeyPem], stateDir: dir });
    expect(first.verify(signed, NOW)).toMatchObject({ ok: true });
    expect(first.verify(signed, NOW)).toMatchObject({ ok: false, reason: "replayed" });
    // Same task id re-signed with a fresh nonce is still a replay of that task.
    expect(first.verify(signCommand(command, operator.privateKeyPem), NOW)).toMatchObject({ ok: false, reason: "replayed" });

    const restarted = createCommandVerifier({ trustedKeys: [operator.publicKeyPem], stateDir: dir });
    expect(restarted.verify(signed, NOW)).toMatchObject({ ok: false, reason: "replayed" });
    expect(restarted.verify(signCommand({ ...command, taskId: "task-2" }, operator.privateKeyPem), NOW)).toMatchObject({ ok: true });
  });

  it("an agent with no trusted keys refuses everything", () => {
    const v = createCommandVerifier({ trustedKeys: [], stateDir: stateDir() }).verify(signCommand(command, operator.privateKeyPem), NOW);
    expect(v).toMatchObject({ ok: false, reason: "untrusted_key" });
  });

  it("rejects a trusted key that is not ed25519, naming its index", () => {
    expect(() => loadTrustedKeys([operator.publicKeyPem, "not a key"])).toThrow(/trusted_command_keys\[1\]/);
  });
});
