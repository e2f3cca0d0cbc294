import { createPrivateKey, randomUUID, sign, verify, type KeyObject } from "node:crypto";
import { z } from "zod";
import { keyIdOf } from "./keys.ts";

/** An ad-hoc command as it travels from the operator to agents, with its signature. */
export const signedCommandSchema = z.object({
  taskId: z.string().min(1).max(200),
  argv: z.array(z.string().max(4096)).min(1).max(256),
  // A host name, or a selector rendered as text (e.g. "role=web,env=prod"); signed as given.
  target: z.string().min(1).max(1000),
  expiresAt: z.iso.datetime({ offset: true }),
  nonce: z.string().min(8).max(200),
  keyId: z.string().regex(/^[0-9a-f]{16}$/),
  signature: z.string().min(1).max(200),
});
export type SignedCommand = z.infer<typeof signedCommandSchema>;
export type UnsignedCommand = Pick<SignedCommand, "taskId" | "argv" | "target"> & { expiresAt: Date | string };

/**
 * The exact bytes signed: a JSON array in a fixed order with a version tag, so no field can be
 * moved into another (argv ["a b"] and ["a", "b"] sign differently) and v2 can never verify as v1.
 */
export function canonicalCommandBytes(c: Pick<SignedCommand, "taskId" | "argv" | "target" | "expiresAt" | "nonce" | "keyId">): Buffer {
  return Buffer.from(JSON.stringify(["ccm-command-v1", c.taskId, c.argv, c.target, c.expiresAt, c.nonce, c.keyId]), "utf8");
}

/** Signs commands with one operator key; the key is parsed once, not per host. */
export interface CommandSigner {
  readonly keyId: string;
  sign(command: UnsignedCommand, nonce?: string): SignedCommand;
}

/** A signer for an operator's ed25519 private key (PEM or an already-parsed KeyObject). */
export function commandSigner(privateKey: string | KeyObject): CommandSigner {
  const key = typeof privateKey === "string" ? createPrivateKey(privateKey) : privateKey;
  if (key.asymmetricKeyType !== "ed25519") throw new Error(`operator key must be ed25519, got ${key.asymmetricKeyType ?? "unknown"}`);
  const keyId = keyIdOf(key);
  return {
    keyId,
    sign(command, nonce = randomUUID()) {
      const expiresAt = new Date(command.expiresAt).toISOString();
      const body = { taskId: command.taskId, argv: [...command.argv], target: command.target, expiresAt, nonce, keyId };
      const signature = sign(null, canonicalCommandBytes(body), key).toString("base64");
      return { ...body, signature };
    },
  };
}

/** Sign one command with an operator's ed25519 private key (PEM); use commandSigner for many. */
export function signCommand(command: UnsignedCommand, privateKeyPem: string, nonce?: string): SignedCommand {
  return commandSigner(privateKeyPem).sign(command, nonce);
}

export type CommandRejection = "unsigned" | "malformed" | "untrusted_key" | "bad_signature" | "expired" | "replayed";

export type CommandVerdict = { ok: true; command: SignedCommand } | { ok: false; reason: CommandRejection; detail: string };

/**
 * Check shape, key, signature and expiry (not replay: see createCommandVerifier). Pure, so it is
 * testable with a fixed clock.
 */
export function checkCommandSignature(input: unknown, trusted: Map<string, KeyObject>, now: Date): CommandVerdict {
  if (input === null || typeof input !== "object" || !("signature" in input) || !(input as { signature?: unknown }).signature) {
    return { ok: false, reason: "unsigned", detail: "command carries no signature" };
  }
  const parsed = signedCommandSchema.safeParse(input);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    return { ok: false, reason: "malformed", detail: `${i?.path.join(".") || "(root)"}: ${i?.message ?? "invalid"}` };
  }
  const c = parsed.data;
  const key = trusted.get(c.keyId);
  if (!key) return { ok: false, reason: "untrusted_key", detail: `key ${c.keyId} is not in trusted_command_keys` };
  let valid = false;
  try {
    valid = verify(null, canonicalCommandBytes(c), key, Buffer.from(c.signature, "base64"));
  } catch {
    valid = false;
  }
  if (!valid) return { ok: false, reason: "bad_signature", detail: "signature does not match the command (altered, or signed by another key)" };
  if (Date.parse(c.expiresAt) <= now.getTime()) return { ok: false, reason: "expired", detail: `expired at ${c.expiresAt}` };
  return { ok: true, command: c };
}
