import { describe, expect, it } from "vitest";
import { UsageError } from "../args.ts";
import { progressBar } from "./broadcast-format.ts";
import { parseParams, parseSelector } from "./broadcast-selector.ts";

describe("ccm broadcast selectors", () => {
  it("turns --select/--hosts/--exclude-hosts/--all into the database's selector", () => {
    expect(parseSelector({ select: "role=web,env=prod|staging,tier!=canary", hosts: "web-*, api-0?", excludeHosts: "web-17" })).toEqual({
      hosts: ["web-*", "api-0?"],
      labels: { role: "web", env: ["prod", "staging"] },
      exclude_hosts: ["web-17"],
      exclude_labels: { tier: "canary" },
    });
    expect(parseSelector({ all: true })).toEqual({ all: true });
  });
  it("refuses an empty or malformed selection instead of meaning everything", () => {
    expect(() => parseSelector({})).toThrow(UsageError);
    expect(() => parseSelector({ excludeHosts: "web-1" })).toThrow(/--all for the whole fleet/);
    expect(() => parseSelector({ select: "role" })).toThrow(/expected key=value/);
    expect(() => parseSelector({ select: "role=" })).toThrow(/expected key=value/);
  });
  it("keeps param values as strings", () => {
    expect(parseParams(["name=curl", "version=1.10", "x=a=b"])).toEqual({ name: "curl", version: "1.10", x: "a=b" });
    expect(() => parseParams(["=x"])).toThrow(/key=value/);
  });
  it("draws a progress bar", () => {
    expect(progressBar(5, 10, 10)).toBe("[█████░░░░░] 5/10 done");
  });
});
