import { mkdir, mkdtemp, readFile, rm, symlink } from "node:fs/promises";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readCertFile } from "../actions/certs.ts";
import { createHostActions } from "../actions/host-actions.ts";
import { runPlaybook } from "../engine/run-playbook.ts";
import { engineOptions, memoryContext, memoryHooks } from "../engine/test-support.ts";
import { certExpiryConfigSchema } from "./config.ts";
import { certExpiryPlaybook } from "./playbook.ts";

let dir: string;
let certs: string;
let server: https.Server | null = null;

/** openssl argv for a self-signed certificate valid `days` days, for 127.0.0.1 and localhost. */
const opensslArgv = (name: string, days: number) => [
  "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
  "-keyout", path.join(certs, `${name}.key`), "-out", path.join(certs, `${name}.pem`), "-days", String(days),
  "-subj", "/CN=ccm-test", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
];
async function makeCert(name: string, days: number): Promise<string> {
  const [file, ...args] = opensslArgv(name, days);
  const r = await execa(file as string, args, { reject: false });
  expect(r.exitCode, r.stderr).toBe(0);
  return path.join(certs, `${name}.pem`);
}

const actions = () => createHostActions({ commands: { "renew-web": { argv: opensslArgv("web", 90) } } });
const config = (over: Record<string, unknown> = {}) => certExpiryConfigSchema.parse({ roots: [certs], ...over });
const labels = (extra: Record<string, string> = {}) => ({ alertname: "SSLCertExpiringSoon", ...extra });

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ccm-cert-expiry-"));
  certs = path.join(dir, "certs");
  await mkdir(certs);
});
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = null;
  await rm(dir, { recursive: true, force: true });
});

describe("cert-expiry on real certificates", () => {
  it("renews an expiring certificate file with the allow-listed command and verifies the new one", async () => {
    const file = await makeCert("web", 1);
    const { ctx, steps } = memoryContext(config({ files: [file], renew_command: "renew-web" }), labels(), { actions: actions() });
    // A fresh install: no history, only the declared prior of 4 successes.
    const hooks = memoryHooks({ successes: 0, failures: 0 });
    const r = await runPlaybook(certExpiryPlaybook, ctx, hooks, engineOptions({ match: certExpiryPlaybook.match(labels()) ?? undefined }));

    expect(r.status, r.summary).toBe("succeeded");
    expect(r.confidence?.band).toBe("auto");
    expect(r.summary).toMatch(new RegExp(`^renewed with renew-web: ${file} expires in 89 days`));
    expect(hooks.outcomes).toEqual([true]);
    expect((await readCertFile(file)).daysLeft).toBe(89);
    const found = (r.details.findings as { certificates: Array<{ cert: { daysLeft: number; issuer: string; sans: string[] } }> }).certificates[0]?.cert;
    expect(found).toMatchObject({ daysLeft: 0, issuer: "CN=ccm-test", sans: ["DNS:localhost", "IP Address:127.0.0.1"] });
    expect(steps.map((s) => `${s.phase}/${s.action}`)).toEqual([
      "diagnose/resolve_certificates",
      "diagnose/read_certificate",
      "remediate/safety_rails",
      "remediate/command",
      "verify/read_certificate",
    ]);
  });

  it("reads a TLS endpoint the alert names and escalates with days left, issuer and SANs when no renew command is configured", async () => {
    const file = await makeCert("endpoint", 1);
    server = https.createServer({ cert: await readFile(file), key: await readFile(path.join(certs, "endpoint.key")) }, (_q, s) => s.end("ok"));
    const port = await new Promise<number>((resolve) => server?.listen(0, "127.0.0.1", () => resolve((server?.address() as { port: number }).port)));
    const endpoint = `127.0.0.1:${port}`;
    const { ctx, steps } = memoryContext(config({ endpoints: [endpoint, "127.0.0.1:1"] }), labels({ instance: `https://${endpoint}/health` }), { actions: actions() });
    const r = await runPlaybook(certExpiryPlaybook, ctx, memoryHooks(), engineOptions());

    expect(r.status).toBe("escalated");
    expect(r.summary).toMatch(new RegExp(`^${endpoint} expires in 0 days \\(.*\\); no renew_command configured \\(playbooks\\.cert-expiry\\.renew_command\\): needs a human$`));
    expect(steps.map((s) => s.action)).toEqual(["resolve_certificates", "tls_certificate"]);
    const cert = (r.details.findings as { certificates: Array<{ cert: Record<string, unknown> }> }).certificates[0]?.cert;
    expect(cert).toMatchObject({ source: endpoint, issuer: "CN=ccm-test", subject: "CN=ccm-test", sans: ["DNS:localhost", "IP Address:127.0.0.1"], daysLeft: 0 });
  });

  it("reads a file the alert names only inside the configured roots, never through a symlink out of them", async () => {
    const inside = await makeCert("inside", 90);
    const outsideDir = path.join(dir, "elsewhere");
    await mkdir(outsideDir);
    const outside = path.join(outsideDir, "secret.pem");
    await execa("cp", [inside, outside]);
    await symlink(outside, path.join(certs, "link.pem"));

    for (const file of [outside, path.join(certs, "link.pem"), `${certs}/../elsewhere/secret.pem`, "certs/inside.pem"]) {
      const { ctx, steps } = memoryContext(config(), labels({ file }), { actions: actions() });
      const r = await runPlaybook(certExpiryPlaybook, ctx, memoryHooks(), engineOptions());
      expect(r.status, file).toBe("escalated");
      expect(r.summary).toMatch(/^certificate file label: .* (is not one of the configured files or inside the configured roots|is not a plain absolute path)/);
      expect(steps.map((s) => s.action)).toEqual(["resolve_certificates"]);
    }
    const { ctx } = memoryContext(config(), labels({ file: inside }), { actions: actions() });
    const r = await runPlaybook(certExpiryPlaybook, ctx, memoryHooks(), engineOptions());
    expect(r.status).toBe("succeeded");
    expect(r.summary).toMatch(new RegExp(`^1 certificates valid for at least 14 days \\(soonest: ${inside} expires in 89 days .*\\): nothing to do$`));
  });

  it("escalates when the alert names an endpoint this host does not check, and a dry run renews nothing", async () => {
    const file = await makeCert("web", 90);
    const other = memoryContext(config({ files: [file] }), labels({ instance: "https://shop.example.com" }), { actions: actions() });
    const r1 = await runPlaybook(certExpiryPlaybook, other.ctx, memoryHooks(), engineOptions());
    expect(r1.status).toBe("escalated");
    expect(r1.summary).toMatch(/^the alert names https:\/\/shop\.example\.com, which is not in playbooks\.cert-expiry\.endpoints; 1 certificates valid/);

    await makeCert("web", 1);
    const before = (await readCertFile(file)).fingerprint256;
    const dry = memoryContext(config({ files: [file], renew_command: "renew-web" }), labels(), { actions: actions(), dryRun: true });
    const r2 = await runPlaybook(certExpiryPlaybook, dry.ctx, memoryHooks(), engineOptions());
    expect(r2.summary).toMatch(/^dry run: would run renew-web/);
    expect((await readCertFile(file)).fingerprint256).toBe(before);
  });

  it("escalates when the renew command is not allow-listed in actions.commands", async () => {
    const file = await makeCert("web", 1);
    const { ctx } = memoryContext(config({ files: [file], renew_command: "certbot-renew" }), labels(), { actions: actions() });
    const r = await runPlaybook(certExpiryPlaybook, ctx, memoryHooks(), engineOptions());
    expect(r.status).toBe("escalated");
    expect(r.summary).toMatch(/; command certbot-renew is not in actions\.commands: needs a human$/);
  });
});
