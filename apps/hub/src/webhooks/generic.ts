import { Hono } from "hono";
import { labelFingerprint, type GenericSource, type NormalizedAlert } from "@ccm/schemas";
import type { Logger } from "@ccm/logger";
import { RequestRejected } from "../http-errors.ts";
import { checkBearer, readJsonBody, requireJson } from "./guard.ts";
import { getPath, scalarText } from "./field-path.ts";
import type { Ingestor } from "./ingest.ts";
import { ingestAnswer } from "./respond.ts";

export interface GenericRouteDeps {
  ingestor: Ingestor;
  log: Logger;
  token: string | undefined;
  maxBytes: number;
  sources: Record<string, GenericSource>;
}

const BUILT_IN_STATUS: Record<string, "firing" | "resolved"> = {
  firing: "firing",
  alerting: "firing",
  active: "firing",
  problem: "firing",
  triggered: "firing",
  resolved: "resolved",
  recovered: "resolved",
  ok: "resolved",
  inactive: "resolved",
};

const MAX_ALERTS = 10_000;
const MAX_VALUE = 4096;

/** One item of a generic source's body -> the normalised shape, or a 400 naming the field. */
export function normalizeGeneric(name: string, source: GenericSource, item: unknown, index: number): NormalizedAlert {
  const where = `alert ${index}`;
  if (item === null || typeof item !== "object" || Array.isArray(item)) {
    throw new RequestRejected(400, `${where}: each alert must be a JSON object`);
  }
  const f = source.fields;
  const text = (field: keyof typeof f, required: boolean): string | undefined => {
    const path = f[field];
    if (!path) return undefined;
    const v = scalarText(getPath(item, path));
    if (v === undefined && required) throw new RequestRejected(400, `${where}: no ${field} at ${path} (source ${name})`);
    if (v !== undefined && v.length > MAX_VALUE) throw new RequestRejected(400, `${where}: ${field} at ${path} is longer than ${MAX_VALUE}`);
    return v;
  };

  const labels: Record<string, string> = {};
  if (f.labels) {
    const extra = getPath(item, f.labels);
    if (extra !== undefined && (extra === null || typeof extra !== "object" || Array.isArray(extra))) {
      throw new RequestRejected(400, `${where}: labels at ${f.labels} must be an object`);
    }
    const pairs: Array<[string, string]> = [];
    for (const [k, v] of Object.entries((extra ?? {}) as Record<string, unknown>).slice(0, 100)) {
      const s = scalarText(v);
      if (s !== undefined) pairs.push([k.slice(0, 128), s.slice(0, MAX_VALUE)]);
    }
    // fromEntries defines own properties, so a "__proto__" label is data, never a prototype.
    Object.assign(labels, Object.fromEntries(pairs));
  }
  labels.alertname = text("alertname", true) as string;
  labels.host = text("host", true) as string;
  const severity = text("severity", false);
  if (severity) labels.severity = severity;

  const rawStatus = text("status", false);
  let status: "firing" | "resolved" = "firing";
  if (rawStatus !== undefined) {
    const mapped = source.status_map[rawStatus] ?? BUILT_IN_STATUS[rawStatus.toLowerCase()];
    if (!mapped) {
      throw new RequestRejected(400, `${where}: status ${JSON.stringify(rawStatus.slice(0, 64))} at ${f.status} is not firing/resolved; add it to status_map of source ${name}`);
    }
    status = mapped;
  }
  const message = text("message", false);
  return {
    fingerprint: text("id", false) ?? labelFingerprint(labels),
    status,
    labels,
    annotations: message ? { message } : {},
    startsAt: startsAt(text("startsAt", false), where),
    endsAt: null,
    generatorURL: null,
    raw: item,
  };
}

function startsAt(value: string | undefined, where: string): string | null {
  if (value === undefined) return null;
  const ms = /^\d{9,11}(\.\d+)?$/.test(value) ? Number(value) * 1000 : Date.parse(value);
  if (!Number.isFinite(ms)) throw new RequestRejected(400, `${where}: startsAt ${JSON.stringify(value.slice(0, 64))} is not a time`);
  const d = new Date(ms);
  if (d.getUTCFullYear() < 1971 || d.getUTCFullYear() > 9999) throw new RequestRejected(400, `${where}: startsAt out of range`);
  return d.toISOString();
}

/** POST /v1/webhooks/generic/:name — sources mapped in CCM_SOURCES_FILE. */
export function genericRoute(deps: GenericRouteDeps): Hono {
  const app = new Hono();
  app.post("/:name", async (c) => {
    const name = c.req.param("name");
    const source = Object.prototype.hasOwnProperty.call(deps.sources, name) ? deps.sources[name] : undefined;
    if (!source) {
      const known = Object.keys(deps.sources);
      throw new RequestRejected(
        404,
        `no generic source named ${JSON.stringify(name.slice(0, 64))}; ` +
          (known.length ? `configured: ${known.join(", ")}` : "none configured (CCM_SOURCES_FILE)"),
      );
    }
    checkBearer(c, source.token ?? deps.token);
    requireJson(c);
    const body = await readJsonBody(c, deps.maxBytes);
    const list = source.alerts ? getPath(body, source.alerts) : body;
    if (source.alerts && !Array.isArray(list)) throw new RequestRejected(400, `no array of alerts at ${source.alerts}`);
    const items = Array.isArray(list) ? list : [list];
    if (items.length === 0) throw new RequestRejected(400, "no alerts in the body");
    if (items.length > MAX_ALERTS) throw new RequestRejected(400, `more than ${MAX_ALERTS} alerts in one body`);
    const alerts = items.map((item, i) => normalizeGeneric(name, source, item, i));
    const results = await deps.ingestor.ingest(`generic:${name}`, null, alerts);
    return ingestAnswer(c, deps.log, `generic:${name}`, results);
  });
  return app;
}
