import { describe, expect, it } from "vitest";
import { DISK_FULL_ALERTNAMES, matchesDiskFull } from "./match.ts";

describe("matchesDiskFull", () => {
  it.each(DISK_FULL_ALERTNAMES)("matches %s with a mountpoint", (alertname) => {
    expect(matchesDiskFull({ alertname, mountpoint: "/var" })).toBe(true);
  });

  it("matches ccm_playbook=disk-full whatever the alert name", () => {
    expect(matchesDiskFull({ alertname: "Custom", ccm_playbook: "disk-full", mountpoint: "/" })).toBe(true);
  });

  it("needs a non-empty mountpoint", () => {
    expect(matchesDiskFull({ alertname: "DiskFull" })).toBe(false);
    expect(matchesDiskFull({ alertname: "DiskFull", mountpoint: "  " })).toBe(false);
    expect(matchesDiskFull({ ccm_playbook: "disk-full", mountpoint: "" })).toBe(false);
  });

  it("ignores other alerts", () => {
    expect(matchesDiskFull({ alertname: "HighCPU", mountpoint: "/" })).toBe(false);
    expect(matchesDiskFull({ alertname: "diskfull", mountpoint: "/" })).toBe(false);
    expect(matchesDiskFull({ ccm_playbook: "other", mountpoint: "/" })).toBe(false);
  });
});
