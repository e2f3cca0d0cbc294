import { describe, expect, it } from "vitest";
import { computeConfidence, trackRecordValue, type ConfidenceInput } from "./confidence.ts";

const base: ConfidenceInput = {
  match: { quality: 1, reason: "alertname" },
  confirmed: true,
  track: { successes: 0, failures: 0 },
  risk: "low",
  blastRadius: "files",
};

describe("confidence", () => {
  it("a new playbook starts cautious: even a perfect low-risk diagnosis only asks for approval", () => {
    const c = computeConfidence(base);
    expect(c.band).toBe("approve");
    expect(c.score).toBeCloseTo(0.5 ** 0.3, 3);
    expect(c.factors.map((f) => f.name)).toEqual(["match", "diagnosis", "track_record", "risk", "blast_radius"]);
    expect(c.factors.find((f) => f.name === "track_record")?.reason).toContain("new: Beta(1,1) prior");
  });

  it("earns trust from verified successes and loses it on failures", () => {
    const scores = [0, 2, 5, 20].map((s) => computeConfidence({ ...base, track: { successes: s, failures: 0 } }).score);
    expect(scores).toEqual([...scores].sort((a, b) => a - b));
    expect(computeConfidence({ ...base, track: { successes: 5, failures: 0 } }).band).toBe("auto");
    expect(computeConfidence({ ...base, track: { successes: 0, failures: 10 } }).band).toBe("escalate");
  });

  it("risk, blast radius and an unconfirmed diagnosis lower the score; a zero factor zeroes it", () => {
    const good = { ...base, track: { successes: 20, failures: 0 } };
    const auto = computeConfidence(good).score;
    expect(computeConfidence({ ...good, risk: "high" }).score).toBeLessThan(auto);
    expect(computeConfidence({ ...good, blastRadius: "host" }).score).toBeLessThan(auto);
    expect(computeConfidence({ ...good, confirmed: null }).band).toBe("approve");
    expect(computeConfidence({ ...good, confirmed: false }).band).toBe("escalate");
    expect(computeConfidence({ ...good, match: { quality: 0, reason: "none" } })).toMatchObject({ score: 0, band: "escalate" });
  });

  it("per-playbook thresholds and priors apply", () => {
    expect(computeConfidence({ ...base, thresholds: { auto: 0.8 } }).band).toBe("auto");
    expect(computeConfidence({ ...base, prior: { successes: 9, failures: 0 } }).band).toBe("auto");
    expect(trackRecordValue({ successes: 3, failures: 1 })).toBeCloseTo(4 / 6);
  });

  it("says why in one line", () => {
    expect(computeConfidence(base).explanation).toMatch(/^0\.81 \(approve; auto >= 0\.9, approve >= 0\.5\): match 1\.00, diagnosis 1\.00, track_record 0\.50/);
  });
});
