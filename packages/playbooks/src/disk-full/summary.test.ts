import { describe, expect, it } from "vitest";
import { summarize, type SummaryInput } from "./summary.ts";
import { newTally } from "./tally.ts";

const GiB = 1024 ** 3;

function input(over: Partial<SummaryInput> = {}): SummaryInput {
  const tally = newTally(100);
  tally.freed.logs = 1.9 * GiB;
  tally.freed.temp = 0.4 * GiB;
  return { mountpoint: "/", before: 92.3, after: 70.2, target: 80, dryRun: false, foldersInScope: 2, tally, ...over };
}

describe("summarize", () => {
  it("says what was freed where and the usage before and after", () => {
    expect(summarize(input())).toBe("freed 2.3 GiB on / (logs 1.9 GiB, temp 409.6 MiB); usage 93% -> 71%");
  });

  it("asks for a human when usage stays above target", () => {
    const tally = newTally(100);
    tally.freed.logs = 1.2 * GiB;
    expect(summarize(input({ mountpoint: "/var", before: 90.5, after: 87.1, tally }))).toBe(
      "freed 1.2 GiB on /var (logs 1.2 GiB); usage 91% -> 88%, still above 80%: needs a human",
    );
  });

  it("explains an incomplete open-file check and an empty scope", () => {
    const tally = newTally(100);
    tally.incomplete = "cannot see the open files of pid 1: EACCES";
    expect(summarize(input({ tally, before: 50, after: 50 }))).toBe(
      "open-file check incomplete (cannot see the open files of pid 1: EACCES), so nothing was removed on /; usage 50% -> 50%: needs a human",
    );
    expect(summarize(input({ foldersInScope: 0, tally: newTally(1), after: 92.3 }))).toBe(
      "no configured folder is on /, nothing to clean; usage 93% -> 93%, still above 80%: needs a human",
    );
  });
});
