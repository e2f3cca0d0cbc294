import { describe, expect, it } from "vitest";
import { DEFAULT_LOG_PATTERNS } from "./config.ts";
import { globMatcher, globToRegExp } from "./glob.ts";

describe("globToRegExp", () => {
  it("supports *, ? and [...] (ranges, negation) on a whole name", () => {
    expect(globToRegExp("*.log").test("app.log")).toBe(true);
    expect(globToRegExp("*.log").test("app.log.1")).toBe(false);
    expect(globToRegExp("app.?").test("app.1")).toBe(true);
    expect(globToRegExp("app.?").test("app.10")).toBe(false);
    expect(globToRegExp("x[0-9]").test("x7")).toBe(true);
    expect(globToRegExp("x[!0-9]").test("x7")).toBe(false);
    expect(globToRegExp("x[!0-9]").test("xa")).toBe(true);
  });

  it("treats regex syntax as literal text", () => {
    expect(globToRegExp("a.b").test("axb")).toBe(false);
    expect(globToRegExp("(a|b)+").test("a")).toBe(false);
    expect(globToRegExp("(a|b)+").test("(a|b)+")).toBe(true);
    expect(globToRegExp("a[").test("a[")).toBe(true);
    expect(globToRegExp("a[]").test("a[]")).toBe(true);
    expect(globToRegExp("[!]").test("x")).toBe(false);
    expect(globToRegExp("back\\slash").test("back\\slash")).toBe(true);
  });

  it("rejects an invalid range instead of matching something unexpected", () => {
    expect(() => globToRegExp("[z-a]")).toThrow(SyntaxError);
  });
});

describe("default rotated-log patterns", () => {
  const rotated = globMatcher(DEFAULT_LOG_PATTERNS);

  it.each(["app.log.1", "app.log.2.gz", "app.log.10", "syslog.1", "messages.12", "syslog-20260101", "app.log-20260101",
    "app.log-2026-01-01.gz", "kern.log.old", "x.xz", "x.bz2", "x.zst"])("matches rotated %s", (name) => {
    expect(rotated(name)).toBe(true);
  });

  it.each(["app.log", "syslog", "messages", "error_log", "access.log", "app.log.tmp", "wtmp", "lastlog", "app-2026.log"])(
    "never matches live %s",
    (name) => {
      expect(rotated(name)).toBe(false);
    },
  );
});
