// A small seeded generator of hostile JSON for the webhook fuzz test (replayable by seed).

export type Rand = () => number;

/** mulberry32: tiny, fast, good enough to explore inputs; the same seed gives the same cases. */
export function seeded(seed: number): Rand {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KEYS = [
  "version", "alerts", "status", "labels", "annotations", "startsAt", "endsAt", "fingerprint", "groupKey",
  "orgId", "values", "id", "host", "rule_id", "rule_name", "started_at", "event", "trigger", "name", "state",
  "alertname", "__proto__", "constructor", "", "ü", "a.b",
];
const STRINGS = [
  "", "firing", "resolved", "4", "1", "web-1", "2026-11-23T02:00:00Z", "0000-00-00T00:00:00Z", "9999-12-31T23:59:59Z",
  "2026-02-30T00:00:00Z", "\u0000", "nul\u0000byte", "💥", "\ud800", "'; drop table ccm.tasks; --", "$(reboot)", "NaN", "-1",
];

const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;

/** Any JSON value, nested up to `depth`. */
export function randomJson(r: Rand, depth = 4): unknown {
  const roll = r();
  if (depth <= 0 || roll < 0.35) {
    const k = Math.floor(r() * 7);
    if (k === 0) return null;
    if (k === 1) return r() < 0.5;
    if (k === 2) return pick(r, [0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1, 4, 1]);
    if (k === 3) return "x".repeat(Math.floor(r() * 3) === 0 ? 70_000 : Math.floor(r() * 40));
    return pick(r, STRINGS);
  }
  if (roll < 0.6) return Array.from({ length: Math.floor(r() * 4) }, () => randomJson(r, depth - 1));
  const out: Record<string, unknown> = {};
  for (let i = Math.floor(r() * 6); i > 0; i--) out[pick(r, KEYS)] = randomJson(r, depth - 1);
  return out;
}

/** A copy of `value` with one node somewhere replaced by a value of another type (or removed). */
export function mutate(r: Rand, value: unknown): unknown {
  if (value === null || typeof value !== "object" || r() < 0.25) return wrongType(r, value);
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [...value] : { ...(value as Record<string, unknown>) };
  const keys = Object.keys(copy);
  if (keys.length === 0) return wrongType(r, value);
  const key = pick(r, keys);
  const target = copy as Record<string, unknown>;
  if (r() < 0.1 && !Array.isArray(copy)) delete target[key];
  else target[key] = mutate(r, target[key]);
  return copy;
}

function wrongType(r: Rand, value: unknown): unknown {
  const options: unknown[] = [null, 42, true, "str", [], {}, [1, "a"], { nested: { deeper: [] } }];
  const others = options.filter((o) => typeof o !== typeof value || Array.isArray(o) !== Array.isArray(value));
  return pick(r, others);
}

/** "[[[[...1...]]]]" nested `depth` times, built as text (JSON.stringify would recurse). */
export function deepArrayText(depth: number): string {
  return "[".repeat(depth) + "1" + "]".repeat(depth);
}
