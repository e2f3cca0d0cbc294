import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Hono } from "hono";
import { afterAll, describe, expect, it } from "vitest";
import { createLogger } from "@ccm/logger";
import { parseHubConfig } from "./config.ts";
import { errorHandler } from "./http-errors.ts";
import { checkBearer } from "./webhooks/guard.ts";

const dir = mkdtempSync(path.join(os.tmpdir(), "ccm-secrets-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CURRENT = "current-token-0123456789";
const NEXT = "next-token-abcdefghijkl";

function guarded(expected: string | undefined): Hono {
  const app = new Hono();
  app.onError(errorHandler(createLogger("test", { level: "silent" })));
  app.post("/", (c) => {
    checkBearer(c, expected);
    return c.json({ ok: true });
  });
  return app;
}
const post = (app: Hono, token?: string) =>
  Promise.resolve(app.request("/", { method: "POST", headers: token ? { authorization: `Bearer ${token}` } : {} }));

describe("webhook bearer tokens: rotation and files", () => {
  it("accepts the current and the next token during a rotation, nothing else", async () => {
    const app = guarded(parseHubConfig({ CCM_WEBHOOK_TOKEN: `${CURRENT},${NEXT}` }).CCM_WEBHOOK_TOKEN);
    expect((await post(app, CURRENT)).status).toBe(200);
    expect((await post(app, NEXT)).status).toBe(200);
    expect((await post(app, `${CURRENT},${NEXT}`)).status).toBe(401);
    expect((await post(app, "wrong-token-0123456789")).status).toBe(401);
    expect((await post(app)).status).toBe(401);
  });

  it("reads tokens from CCM_WEBHOOK_TOKEN_FILE, one per line, comments ignored", async () => {
    const file = path.join(dir, "webhook-tokens");
    writeFileSync(file, `# rotate: add the next line, move senders, then delete the first\n${CURRENT}\n${NEXT}\n`);
    const config = parseHubConfig({ CCM_WEBHOOK_TOKEN_FILE: file });
    expect(config.CCM_WEBHOOK_TOKEN).toBe(`${CURRENT},${NEXT}`);
    expect((await post(guarded(config.CCM_WEBHOOK_TOKEN), NEXT)).status).toBe(200);
  });

  it("fails at start naming the key: short token, unreadable file, variable and file both set", () => {
    expect(() => parseHubConfig({ CCM_WEBHOOK_TOKEN: `${CURRENT},short` })).toThrow(/CCM_WEBHOOK_TOKEN: each comma-separated token/);
    expect(() => parseHubConfig({ CCM_WEBHOOK_TOKEN_FILE: path.join(dir, "missing") })).toThrow(/CCM_WEBHOOK_TOKEN_FILE: cannot read .*ENOENT/);
    expect(() => parseHubConfig({ CCM_WEBHOOK_TOKEN: CURRENT, CCM_WEBHOOK_TOKEN_FILE: path.join(dir, "x") })).toThrow(/use one of them/);
    const two = path.join(dir, "two-secrets");
    writeFileSync(two, "aaaaaaaaaaaaaaaaaaaa\nbbbbbbbbbbbbbbbbbbbbb\n");
    expect(() => parseHubConfig({ CCM_GRAFANA_HMAC_SECRET_FILE: two })).toThrow(/must hold one value/);
  });
});
