import { describe, expect, it } from "vitest";
import { digestDue, localClock } from "./digest-schedule.ts";

describe("digest schedule", () => {
  it("reads the local day and time in an IANA zone, across DST", () => {
    // 06:30 UTC on 2026-07-01 is 08:30 in Paris (CEST, +2); on 2026-01-15 it is 07:30 (CET, +1).
    expect(localClock(new Date("2026-07-01T06:30:00Z"), "Europe/Paris")).toEqual({ day: "2026-07-01", minuteOfDay: 8 * 60 + 30 });
    expect(digestDue(new Date("2026-07-01T06:30:00Z"), "Europe/Paris", "08:00")).toEqual({ due: true, day: "2026-07-01" });
    expect(digestDue(new Date("2026-01-15T06:30:00Z"), "Europe/Paris", "08:00")).toEqual({ due: false, day: "2026-01-15" });
  });

  it("uses the local calendar day, not UTC's", () => {
    // 23:30 UTC on Jan 15 is already Jan 16, 08:30 in Tokyo.
    expect(digestDue(new Date("2026-01-15T23:30:00Z"), "Asia/Tokyo", "08:00")).toEqual({ due: true, day: "2026-01-16" });
    expect(digestDue(new Date("2026-01-15T23:30:00Z"), "America/New_York", "08:00")).toEqual({ due: true, day: "2026-01-15" });
  });
});
