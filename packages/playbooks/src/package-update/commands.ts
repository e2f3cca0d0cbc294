import { access } from "node:fs/promises";
import type { PackageUpdateConfig } from "./config.ts";
import type { PackageUpdateParams } from "./params.ts";

export type Manager = "apt" | "dnf" | "command";

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** The package manager to use on this host. */
export async function resolveManager(config: PackageUpdateConfig): Promise<Manager | null> {
  if (config.manager !== "auto") return config.manager;
  if (await exists("/usr/bin/apt-get")) return "apt";
  if (await exists("/usr/bin/dnf")) return "dnf";
  return null;
}

/** argv that installs the package (validated name/version are whole elements; never a shell). */
export function installArgv(manager: Manager, config: PackageUpdateConfig, p: PackageUpdateParams): string[] {
  switch (manager) {
    case "apt":
      return ["apt-get", "install", "-y", "-q", "-o", "Dpkg::Options::=--force-confold", p.version ? `${p.name}=${p.version}` : p.name];
    case "dnf":
      return ["dnf", "install", "-y", "-q", p.version ? `${p.name}-${p.version}` : p.name];
    case "command":
      return [...(config.command ?? []), "install", p.name, ...(p.version ? [p.version] : [])];
  }
}

/** argv that prints the installed version (read-only); null when the manager has no query. */
export function queryArgv(manager: Manager, p: PackageUpdateParams): string[] | null {
  if (manager === "apt") return ["dpkg-query", "-W", "-f=${Version}", p.name];
  if (manager === "dnf") return ["rpm", "-q", "--qf", "%{VERSION}-%{RELEASE}", p.name];
  return null;
}

/** The line a human needs from a failed install: the last non-empty line of stderr, else of stdout. */
export function errorLine(stdout: string, stderr: string): string | null {
  for (const text of [stderr, stdout]) {
    const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
    const last = lines.at(-1);
    if (last) return last.slice(0, 300);
  }
  return null;
}
