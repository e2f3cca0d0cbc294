export {
  canonicalCommandBytes,
  checkCommandSignature,
  commandSigner,
  signCommand,
  signedCommandSchema,
  type CommandRejection,
  type CommandSigner,
  type CommandVerdict,
  type SignedCommand,
  type UnsignedCommand,
} from "./command-signature.ts";
export { createCommandVerifier, type CommandVerifier } from "./command-verifier.ts";
export { generateOperatorKeyPair, keyIdOf, loadTrustedKeys, type OperatorKeyPair } from "./keys.ts";
export { ReplayGuard } from "./replay-guard.ts";
export { agentToken, tokenHash } from "./agent-token.ts";
