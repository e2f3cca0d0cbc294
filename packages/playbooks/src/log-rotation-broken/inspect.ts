import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";

export interface RotatedFile {
  name: string;
  sizeBytes: number;
  mtime: string;
}

/** What a log looks like on disk: size, identity and its rotated siblings. */
export interface LogInspection {
  file: string;
  exists: boolean;
  sizeBytes: number;
  inode: number | null;
  mtime: string | null;
  /** app.log.1, app.log.2.gz, app.log-20260101…: newest first, at most 20. */
  rotated: RotatedFile[];
}

/** Siblings named after the log plus a rotation suffix ('.1', '.1.gz', '-20260101', '_2026…'). */
function isRotatedName(base: string, name: string): boolean {
  if (name === base || !name.startsWith(base)) return false;
  return /^[.\-_](\d|\d{8}|\d{4}-\d{2}-\d{2})/.test(name.slice(base.length));
}

export async function inspectLog(file: string): Promise<LogInspection> {
  const st = await stat(file).catch(() => null);
  const dir = path.dirname(file);
  const base = path.basename(file);
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => isRotatedName(base, n));
  const rotated: RotatedFile[] = [];
  for (const name of names) {
    const s = await stat(path.join(dir, name)).catch(() => null);
    if (s?.isFile()) rotated.push({ name, sizeBytes: s.size, mtime: s.mtime.toISOString() });
  }
  rotated.sort((a, b) => b.mtime.localeCompare(a.mtime));
  return {
    file,
    exists: st !== null,
    sizeBytes: st?.size ?? 0,
    inode: st?.ino ?? null,
    mtime: st?.mtime.toISOString() ?? null,
    rotated: rotated.slice(0, 20),
  };
}

/**
 * When logrotate last rotated `files` by its state file (`"path" 2026-11-23-18:38:57`, local time).
 * Missing file or entry: null.
 */
export async function lastRotatedByState(stateFile: string, files: readonly string[]): Promise<string | null> {
  const text = await readFile(stateFile, "utf8").catch(() => null);
  if (!text) return null;
  for (const line of text.split("\n")) {
    const m = /^"(.*)" (\d+)-(\d+)-(\d+)-(\d+):(\d+):(\d+)$/.exec(line.trim());
    if (!m || !files.includes(m[1] as string)) continue;
    const [y, mo, d, h, mi, s] = m.slice(2).map(Number) as [number, number, number, number, number, number];
    return new Date(y, mo - 1, d, h, mi, s).toISOString();
  }
  return null;
}
