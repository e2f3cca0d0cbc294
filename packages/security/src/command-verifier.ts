import { checkCommandSignature, type CommandVerdict } from "./command-signature.ts";
import { loadTrustedKeys } from "./keys.ts";
import { ReplayGuard } from "./replay-guard.ts";

export interface CommandVerifier {
  /** Accept a signed ad-hoc command at most once; a refusal carries the reason to record on the run. */
  verify(input: unknown, now?: Date): CommandVerdict;
}

/** The agent side: trusts only `trustedKeys` (PEM) and remembers accepted commands in `stateDir`. */
export function createCommandVerifier(options: { trustedKeys: string[]; stateDir: string }): CommandVerifier {
  const trusted = loadTrustedKeys(options.trustedKeys);
  const guard = new ReplayGuard(options.stateDir);
  return {
    verify(input, now = new Date()) {
      if (trusted.size === 0) return { ok: false, reason: "untrusted_key", detail: "this agent trusts no command keys (trusted_command_keys is empty)" };
      const verdict = checkCommandSignature(input, trusted, now);
      if (!verdict.ok) return verdict;
      const c = verdict.command;
      if (!guard.claim(c.taskId, c.nonce, new Date(c.expiresAt), now)) {
        return { ok: false, reason: "replayed", detail: `command for task ${c.taskId} (nonce ${c.nonce}) was already accepted` };
      }
      return verdict;
    },
  };
}
