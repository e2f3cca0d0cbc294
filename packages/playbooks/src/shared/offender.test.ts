import { describe, expect, it } from "vitest";
import { hostActionsConfigSchema } from "../actions/config.ts";
import type { Consumer } from "./consumers.ts";
import { chooseOffender, type OffenderRules } from "./offender.ts";

const actions = hostActionsConfigSchema.parse({ services: { web: {}, db: { restart: false } } });
const c = (service: string | null, value: number, pid = 1): Consumer => ({ service, value, pids: [pid], label: service ? `service ${service}` : `pid ${pid} (x: x)` });
const rules = (consumers: Consumer[], over: Partial<OffenderRules> = {}): OffenderRules => ({
  actions,
  named: null,
  consumers,
  describe: (x) => `${x.value}`,
  bigEnough: (x) => x.value >= 10,
  threshold: "10",
  restart: true,
  ...over,
});

describe("chooseOffender", () => {
  it("restarts the top consumer only when it is an allow-listed, restartable service that uses enough", () => {
    expect(chooseOffender(rules([c("web", 50), c(null, 20)]))).toMatchObject({ verdict: "remediate", confirmed: true, target: { name: "web" } });
    expect(chooseOffender(rules([c(null, 50, 7), c("web", 20)]))).toMatchObject({ verdict: "escalate", target: null, summary: expect.stringContaining("pid 7") });
    expect(chooseOffender(rules([c("db", 50)]))).toMatchObject({ verdict: "escalate", suspect: { name: "db" }, summary: expect.stringContaining("restart is not allowed") });
    expect(chooseOffender(rules([c("web", 5)]))).toMatchObject({ verdict: "escalate", summary: expect.stringContaining("below 10") });
    expect(chooseOffender(rules([c("web", 50)], { restart: "restart is off" }))).toMatchObject({ verdict: "escalate", suspect: { name: "web" }, summary: "service web uses 50; restart is off" });
    expect(chooseOffender(rules([]))).toMatchObject({ verdict: "escalate", summary: "no process could be read" });
  });

  it("with a service named by the alert, blames only that one; not the top consumer = inconclusive", () => {
    const named = { name: "web", service: actions.services.web! };
    expect(chooseOffender(rules([c(null, 90), c("web", 50)], { named }))).toMatchObject({ verdict: "remediate", confirmed: null, target: { name: "web" } });
    expect(chooseOffender(rules([c(null, 90)], { named }))).toMatchObject({ verdict: "escalate", summary: expect.stringContaining("no process of it was found") });
  });
});
