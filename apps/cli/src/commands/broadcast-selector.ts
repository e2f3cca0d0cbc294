import type { BroadcastSelector } from "@ccm/store";
import { UsageError } from "../args.ts";

const split = (v: string | undefined) => (v ?? "").split(",").map((s) => s.trim()).filter(Boolean);

/**
 * `--select role=web,env=prod|staging,canary!=no` + `--hosts 'web-*'` + `--exclude-hosts web-17` + `--all`
 * into the selector the database understands. `a=x|y` is set membership; `a!=x` excludes.
 */
export function parseSelector(opts: { select?: string; hosts?: string; excludeHosts?: string; all?: boolean }): BroadcastSelector {
  const labels: Record<string, string | string[]> = {};
  const exclude: Record<string, string | string[]> = {};
  for (const term of split(opts.select)) {
    const m = /^([^=!]+)(!?=)(.*)$/.exec(term);
    if (!m || !m[1] || m[3] === undefined || m[3] === "") throw new UsageError(`--select: expected key=value, key=a|b or key!=value, got ${JSON.stringify(term)}`);
    const values = m[3].split("|").map((v) => v.trim());
    const value = values.length === 1 ? (values[0] as string) : values;
    (m[2] === "!=" ? exclude : labels)[m[1].trim()] = value;
  }
  const selector: BroadcastSelector = {};
  if (opts.all) selector.all = true;
  const hosts = split(opts.hosts);
  if (hosts.length) selector.hosts = hosts;
  if (Object.keys(labels).length) selector.labels = labels;
  const excludeHosts = split(opts.excludeHosts);
  if (excludeHosts.length) selector.exclude_hosts = excludeHosts;
  if (Object.keys(exclude).length) selector.exclude_labels = exclude;
  if (!selector.all && !selector.hosts && !selector.labels) {
    throw new UsageError("say which hosts: --select k=v, --hosts 'glob', or --all for the whole fleet");
  }
  return selector;
}

/** `--param k=v` (repeatable) into params; values stay strings (a version "1.10" is not a number). */
export function parseParams(list: string[] | undefined): Record<string, string> {
  const params: Record<string, string> = {};
  for (const p of list ?? []) {
    const i = p.indexOf("=");
    if (i < 1) throw new UsageError(`--param: expected key=value, got ${JSON.stringify(p)}`);
    params[p.slice(0, i).trim()] = p.slice(i + 1);
  }
  return params;
}
