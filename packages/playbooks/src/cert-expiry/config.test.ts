import { describe, expect, it } from "vitest";
import { certExpiryConfigSchema, parseEndpoint } from "./config.ts";

describe("parseEndpoint", () => {
  it.each([
    ["127.0.0.1:8443", { host: "127.0.0.1", port: 8443 }],
    ["https://shop.example.com/health", { host: "shop.example.com", port: 443 }],
    ["https://shop.example.com:8443", { host: "shop.example.com", port: 8443 }],
    ["[::1]:443", { host: "::1", port: 443 }],
  ])("%s", (text, want) => expect(parseEndpoint(text)).toEqual(want));

  it.each(["$(touch x):443", "host:99999", "a b:1", "; rm -rf /", ""])("refuses %j", (text) => expect(parseEndpoint(text)).toBeNull());

  it("config names the bad key", () => {
    const r = certExpiryConfigSchema.safeParse({ endpoints: ["nope nope"], renew_command: "--force" });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.join("."))).toEqual(["endpoints.0", "renew_command"]);
  });
});
