import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { MachineInfo } from "./machine.ts";
import type { BenchResult } from "./types.ts";

export interface ResultsFile {
  machine: MachineInfo;
  updatedAt: string;
  /** Latest result of each benchmark; `pnpm bench <name>` replaces only that one. */
  benchmarks: Record<string, BenchResult & { machine?: MachineInfo }>;
}

const START = "<!-- results:start -->";
const END = "<!-- results:end -->";

export async function mergeResults(file: string, machine: MachineInfo, fresh: BenchResult[], order: string[]): Promise<ResultsFile> {
  let previous: ResultsFile | undefined;
  if (existsSync(file)) {
    try {
      previous = JSON.parse(await readFile(file, "utf8")) as ResultsFile;
    } catch {
      previous = undefined;
    }
  }
  const merged: ResultsFile["benchmarks"] = {};
  for (const name of order) {
    const now = fresh.find((r) => r.name === name);
    const old = previous?.benchmarks[name];
    if (now) merged[name] = { ...now, machine };
    else if (old) merged[name] = { ...old, machine: old.machine ?? previous?.machine };
  }
  const out: ResultsFile = { machine, updatedAt: new Date().toISOString(), benchmarks: merged };
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(out, null, 2) + "\n");
  return out;
}

const cell = (s: string): string => s.replace(/\|/g, "\\|");
const times = (r: number | null): string => (r === null ? "n/a" : `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}×`);

export function markdownTable(results: ResultsFile): string {
  const lines = ["| benchmark | case | ccm | baseline | ratio |", "| --- | --- | --- | --- | --- |"];
  for (const r of Object.values(results.benchmarks)) {
    for (const row of r.rows) {
      lines.push(`| ${r.name} | ${cell(row.case)} | ${cell(row.ccm)} | ${cell(row.baseline)} | ${times(row.ratio)} (${cell(row.ratioOf)}) |`);
    }
  }
  return lines.join("\n");
}

function machineLine(m: MachineInfo): string {
  return (
    `${m.cpuModel}, ${m.cores} cores, ${m.ramGiB} GiB RAM, ${m.os}; Node ${m.node}; ` +
    `PostgreSQL ${m.postgres} (max_connections ${m.postgresMaxConnections})`
  );
}

function section(results: ResultsFile): string {
  const load = results.machine.loadAverage;
  const out = [
    START,
    "",
    `Machine: ${machineLine(results.machine)}. Load average (1 min) at the start of the last run ${load.start}, at its end ${load.end ?? "n/a"}.`,
    "",
  ];
  for (const r of Object.values(results.benchmarks)) {
    const other = r.machine && machineLine(r.machine) !== machineLine(results.machine) ? ` on ${machineLine(r.machine)}` : "";
    out.push(`- \`${r.name}\`: measured ${r.ranAt.replace("T", " ").slice(0, 16)} UTC in ${Math.round(r.durationS)} s${other}`);
  }
  out.push("", markdownTable(results), "");
  const warnings = Object.values(results.benchmarks).flatMap((r) => r.warnings);
  if (warnings.length > 0) {
    out.push("Warnings from these runs:", "", ...warnings.map((w) => `- ${w}`), "");
  }
  out.push("Raw figures: [results/latest.json](results/latest.json).", "", END);
  return out.join("\n");
}

/** Replace the results section of the README (appended when the markers are missing). */
export async function writeReadme(file: string, results: ResultsFile): Promise<void> {
  const text = existsSync(file) ? await readFile(file, "utf8") : "# Benchmarks\n";
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  const next =
    start >= 0 && end > start
      ? text.slice(0, start) + section(results) + text.slice(end + END.length)
      : `${text.trimEnd()}\n\n## Results\n\n${section(results)}\n`;
  await writeFile(file, next);
}
