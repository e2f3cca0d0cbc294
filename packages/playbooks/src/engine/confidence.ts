import type { BlastRadius, Risk, Thresholds } from "../types.ts";

export const DEFAULT_THRESHOLDS: Thresholds = { auto: 0.9, approve: 0.5 };

export type Band = "auto" | "approve" | "escalate";

export interface ConfidenceFactor {
  name: "match" | "diagnosis" | "track_record" | "risk" | "blast_radius";
  /** In [0,1]. */
  value: number;
  /** Exponent in the weighted geometric mean; the weights sum to 1. */
  weight: number;
  /** value ** weight: what this factor multiplies the score by. */
  multiplier: number;
  reason: string;
}

export interface Confidence {
  score: number;
  band: Band;
  thresholds: Thresholds;
  factors: ConfidenceFactor[];
  /** One line: "0.78 (approve): match 1.00, diagnosis 1.00, track 0.50 (0/0), risk medium, blast service". */
  explanation: string;
}

export interface ConfidenceInput {
  match: { quality: number; reason: string };
  /** Diagnosis confirmed the cause (true), contradicted it (false), or was inconclusive (null). */
  confirmed: boolean | null;
  track: { successes: number; failures: number };
  prior?: { successes: number; failures: number };
  risk: Risk;
  blastRadius: BlastRadius;
  thresholds?: Partial<Thresholds>;
}

// Weights of the geometric mean. Evidence (diagnosis, track record) weighs most; any factor at 0 zeroes the score.
const WEIGHTS = { match: 0.2, diagnosis: 0.3, track_record: 0.3, risk: 0.1, blast_radius: 0.1 } as const;
const DIAGNOSIS = { confirmed: 1, inconclusive: 0.5, contradicted: 0.1 } as const;
const RISK: Record<Risk, number> = { low: 1, medium: 0.8, high: 0.5 };
const BLAST: Record<BlastRadius, number> = { none: 1, files: 1, process: 0.9, service: 0.85, host: 0.6 };

const clamp = (x: number) => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0);

/**
 * Track record as the mean of a Beta posterior: Beta(1 + prior.s + s, 1 + prior.f + f). With no history
 * and no prior it is 0.5, so a new playbook cannot auto-fix (0.5^0.3 caps the score at 0.81) and earns trust
 * through verified outcomes (about 5 successes without a failure for a low-risk file fix).
 */
export function trackRecordValue(track: { successes: number; failures: number }, prior = { successes: 0, failures: 0 }): number {
  const a = 1 + prior.successes + track.successes;
  const b = 1 + prior.failures + track.failures;
  return a / (a + b);
}

export function bandOf(score: number, t: Thresholds): Band {
  return score >= t.auto ? "auto" : score >= t.approve ? "approve" : "escalate";
}

/** Score in [0,1] from explainable factors (weighted geometric mean), its band, and why. */
export function computeConfidence(input: ConfidenceInput): Confidence {
  const thresholds = { ...DEFAULT_THRESHOLDS, ...input.thresholds };
  const diag = input.confirmed === true ? "confirmed" : input.confirmed === false ? "contradicted" : "inconclusive";
  const prior = input.prior ?? { successes: 0, failures: 0 };
  const raw: Array<Omit<ConfidenceFactor, "multiplier" | "weight">> = [
    { name: "match", value: clamp(input.match.quality), reason: input.match.reason },
    { name: "diagnosis", value: DIAGNOSIS[diag], reason: `diagnosis ${diag} the cause` },
    {
      name: "track_record",
      value: trackRecordValue(input.track, prior),
      reason:
        `${input.track.successes} verified successes, ${input.track.failures} failures` +
        (prior.successes || prior.failures ? ` (+ prior ${prior.successes}/${prior.failures})` : " (new: Beta(1,1) prior)"),
    },
    { name: "risk", value: RISK[input.risk], reason: `risk ${input.risk}` },
    { name: "blast_radius", value: BLAST[input.blastRadius], reason: `blast radius: ${input.blastRadius}` },
  ];
  const factors = raw.map((f) => {
    const weight = WEIGHTS[f.name];
    return { ...f, weight, multiplier: f.value === 0 ? 0 : f.value ** weight };
  });
  const score = Math.round(factors.reduce((s, f) => s * f.multiplier, 1) * 1000) / 1000;
  const band = bandOf(score, thresholds);
  const explanation =
    `${score.toFixed(2)} (${band}; auto >= ${thresholds.auto}, approve >= ${thresholds.approve}): ` +
    factors.map((f) => `${f.name} ${f.value.toFixed(2)}`).join(", ");
  return { score, band, thresholds, factors, explanation };
}
