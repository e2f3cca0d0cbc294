import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "./index.ts";

describe("secret redaction", () => {
  it("never writes tokens, keys or webhook secrets", () => {
    let out = "";
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        out += chunk.toString();
        cb();
      },
    });
    const log = createLogger("test", { destination: sink });
    const secrets = ["tok-AAAA", "anon-BBBB", "svc-CCCC", "hook-DDDD", "hmac-EEEE", "pg-FFFF", "agent-GGGG"];
    log.info({ token: secrets[0], config: { anonKey: secrets[1], SUPABASE_SERVICE_ROLE_KEY: secrets[2], CCM_WEBHOOK_TOKEN: secrets[3] } }, "a");
    log.info({ CCM_GRAFANA_HMAC_SECRET: secrets[4], env: { DATABASE_URL: secrets[5] }, body: { p_token: secrets[6] } }, "b");
    log.info({ req: { headers: { apikey: secrets[1], authorization: `Bearer ${secrets[2]}` } } }, "c");
    for (const s of secrets) expect(out).not.toContain(s);
    expect(out).toContain("[redacted]");
  });
});
