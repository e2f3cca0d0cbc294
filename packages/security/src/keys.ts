import { createHash, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";

export interface OperatorKeyPair {
  /** PKCS#8 PEM; stays with the operator (file mode 0600). */
  privateKeyPem: string;
  /** SPKI PEM; goes into every agent's `trusted_command_keys`. */
  publicKeyPem: string;
  keyId: string;
}

/** A new ed25519 operator key pair. */
export function generateOperatorKeyPair(): OperatorKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const publicKeyPem = publicKey.export({ type: "spki", format: "pem" }).toString();
  return {
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicKeyPem,
    keyId: keyIdOf(publicKey),
  };
}

/** Short stable name of a public key: the first 16 hex characters of sha256 over its SPKI DER. */
export function keyIdOf(publicKey: KeyObject | string): string {
  // createPublicKey also derives the public half of a private key.
  const key = typeof publicKey !== "string" && publicKey.type === "public" ? publicKey : createPublicKey(publicKey);
  return createHash("sha256").update(key.export({ type: "spki", format: "der" })).digest("hex").slice(0, 16);
}

/** Parse trusted public keys (PEM); throws naming the index of the first one that is not ed25519. */
export function loadTrustedKeys(pems: string[]): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  pems.forEach((pem, i) => {
    let key: KeyObject;
    try {
      key = createPublicKey(pem);
    } catch (err) {
      throw new Error(`trusted_command_keys[${i}]: not a PEM public key (${(err as Error).message})`);
    }
    if (key.asymmetricKeyType !== "ed25519") {
      throw new Error(`trusted_command_keys[${i}]: must be an ed25519 key, got ${key.asymmetricKeyType ?? "unknown"}`);
    }
    keys.set(keyIdOf(key), key);
  });
  return keys;
}
