import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveAgentTransport } from "./transport-config.ts";

const dir = mkdtempSync(path.join(os.tmpdir(), "ccm-agent-transport-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const TOKEN = "x".repeat(43);
const ANON = "anon-key-0123456789abcdef";

describe("agent transport selection", () => {
  it("SUPABASE_URL + anon key + token selects supabase (broadcast by default)", () => {
    const issues: string[] = [];
    const t = resolveAgentTransport({}, { SUPABASE_URL: "https://p.supabase.co", SUPABASE_ANON_KEY: ANON, CCM_AGENT_TOKEN: TOKEN, DATABASE_URL: "postgres://x/y" }, issues);
    expect(issues).toEqual([]);
    expect(t).toEqual({ kind: "supabase", url: "https://p.supabase.co", anonKey: ANON, token: TOKEN, realtime: "broadcast" });
  });

  it("DATABASE_URL selects postgres, with the token from token_file when given", () => {
    const file = path.join(dir, "agent.token");
    writeFileSync(file, `${TOKEN}\n`);
    const issues: string[] = [];
    expect(resolveAgentTransport({ token_file: file }, { DATABASE_URL: "postgres://x/y" }, issues)).toEqual({ kind: "postgres", databaseUrl: "postgres://x/y", token: TOKEN });
    expect(resolveAgentTransport({}, { DATABASE_URL: "postgres://x/y" }, issues)).toEqual({ kind: "postgres", databaseUrl: "postgres://x/y" });
    expect(issues).toEqual([]);
  });

  it("names what is missing or forbidden", () => {
    const issues: string[] = [];
    resolveAgentTransport({}, { SUPABASE_URL: "https://p.supabase.co", SUPABASE_SERVICE_ROLE_KEY: "svc" }, issues);
    expect(issues.join("\n")).toMatch(/supabase_anon_key: required/);
    expect(issues.join("\n")).toMatch(/token_file: required/);
    expect(issues.join("\n")).toMatch(/SUPABASE_SERVICE_ROLE_KEY: must not be set for an agent/);
    const none: string[] = [];
    resolveAgentTransport({ token_file: path.join(dir, "missing") }, {}, none);
    expect(none.join("\n")).toMatch(/token_file: cannot read .*ENOENT/);
    expect(none.join("\n")).toMatch(/database_url: required/);
  });
});
