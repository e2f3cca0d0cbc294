import { describe, expect, it } from "vitest";
import { slackSignature, verifySlackSignature } from "./slack-signature.ts";

const secret = "8f742231b10e8888abcd99yyyzzz85a5";
const body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&payload=%7B%7D";
const now = 1_531_420_618_000;
const ts = String(now / 1000);

describe("Slack request signatures", () => {
  it("matches Slack's documented example", () => {
    // From Slack's "Verifying requests from Slack" guide.
    const docBody =
      "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    expect(slackSignature(secret, "1531420618", docBody)).toBe(
      "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    );
  });

  it("accepts a valid signature", () => {
    expect(() => verifySlackSignature({ secret, timestamp: ts, signature: slackSignature(secret, ts, body), rawBody: body, nowMs: now })).not.toThrow();
  });

  it("refuses a wrong secret, a changed body, a stale or future timestamp, and missing headers", () => {
    const sig = slackSignature("another-secret", ts, body);
    expect(() => verifySlackSignature({ secret, timestamp: ts, signature: sig, rawBody: body, nowMs: now })).toThrow(/does not match/);
    const good = slackSignature(secret, ts, body);
    expect(() => verifySlackSignature({ secret, timestamp: ts, signature: good, rawBody: `${body}x`, nowMs: now })).toThrow(/does not match/);
    expect(() => verifySlackSignature({ secret, timestamp: ts, signature: good, rawBody: body, nowMs: now + 301_000 })).toThrow(/5 minutes/);
    expect(() => verifySlackSignature({ secret, timestamp: ts, signature: good, rawBody: body, nowMs: now - 301_000 })).toThrow(/5 minutes/);
    expect(() => verifySlackSignature({ secret, timestamp: undefined, signature: good, rawBody: body, nowMs: now })).toThrow(/missing/);
  });
});
