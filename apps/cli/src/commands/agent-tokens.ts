import { writeFile } from "node:fs/promises";
import { agentToken, tokenHash } from "@ccm/security";
import { dbAgentTokenAdmin, refusalMessage, type AgentTokenAdmin } from "@ccm/store";
import { parse, UsageError } from "../args.ts";
import { resolveDb } from "../database.ts";

const HOST = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

function parseLabels(values: string[] | undefined): Record<string, string> | undefined {
  if (!values || values.length === 0) return undefined;
  const labels: Record<string, string> = {};
  for (const v of values) {
    const m = /^([A-Za-z_][A-Za-z0-9_.-]*)=(.*)$/.exec(v);
    if (!m) throw new UsageError(`--label ${v}: expected key=value`);
    labels[m[1]!] = m[2]!;
  }
  return labels;
}

/**
 * ccm agent enroll|rotate <host> [--out FILE] [--label k=v]…  — issue a token, shown once (or written 0600 to FILE).
 * ccm agent revoke <host>                                     — the host's next call fails.
 */
export async function agentTokenCommand(sub: "enroll" | "rotate" | "revoke", argv: string[], env: Record<string, string | undefined>): Promise<void> {
  const { values, positionals } = parse(argv, {
    out: { type: "string" },
    label: { type: "string", multiple: true },
    json: { type: "boolean", default: false },
  });
  const host = positionals[0];
  if (!host || !HOST.test(host)) throw new UsageError(`ccm agent ${sub} <host>: a host name is required`);
  const db = await resolveDb(env);
  try {
    await run(sub, host, values, dbAgentTokenAdmin(db));
  } catch (err) {
    // The database's refusal (already enrolled, unknown host, not an operator) is the whole message.
    const code = (err as { code?: unknown }).code;
    if (typeof code === "string" && ["23505", "P0002", "42501", "22023"].includes(code)) {
      console.error(`ccm: ${refusalMessage(err)}`);
      process.exitCode = 1;
      return;
    }
    throw err;
  } finally {
    await db.close();
  }
}

async function run(
  sub: "enroll" | "rotate" | "revoke",
  host: string,
  values: { out?: string; label?: string[]; json?: boolean },
  admin: AgentTokenAdmin,
): Promise<void> {
  if (sub === "revoke") {
    const revoked = await admin.revoke(host);
    console.log(revoked ? `revoked the token of ${host}; its next call fails` : `${host} had no active token`);
    return;
  }
  const token = agentToken();
  const agentId = sub === "enroll" ? await admin.enroll(host, tokenHash(token), parseLabels(values.label)) : await admin.rotate(host, tokenHash(token));
  if (values.out) {
    await writeFile(values.out, token + "\n", { mode: 0o600, flag: "w" });
    console.log(values.json ? JSON.stringify({ host, agentId, tokenFile: values.out }) : `${sub === "enroll" ? "enrolled" : "rotated"} ${host} (agent ${agentId}); token written to ${values.out} (mode 0600)`);
    return;
  }
  if (values.json) {
    console.log(JSON.stringify({ host, agentId, token }));
    return;
  }
  console.log(
    [
      `${sub === "enroll" ? "enrolled" : "rotated the token of"} ${host} (agent ${agentId}).`,
      "",
      `  token: ${token}`,
      "",
      "This is the only time it is shown; only its sha256 is stored. On the host, put it in",
      "/etc/ccm/agent.token (mode 0600, owner ccm) and set token_file in /etc/ccm/agent.yaml",
      "(or CCM_AGENT_TOKEN_FILE). " + (sub === "rotate" ? "The previous token already fails." : ""),
    ].join("\n"),
  );
}
