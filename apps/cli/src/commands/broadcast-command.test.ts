import { describe, expect, it } from "vitest";
import { parseExpiry } from "./broadcast-command.ts";

describe("parseExpiry", () => {
  it("reads seconds, minutes and hours, at most 24h", () => {
    expect(parseExpiry("90")).toBe(90);
    expect(parseExpiry("90s")).toBe(90);
    expect(parseExpiry("15m")).toBe(900);
    expect(parseExpiry("24h")).toBe(86_400);
    expect(() => parseExpiry("25h")).toThrow(/at most 24h/);
    expect(() => parseExpiry("0")).toThrow(/--expires/);
    expect(() => parseExpiry("1d")).toThrow(/--expires/);
  });
});
