import { isCompressedName, TMP_SUFFIX } from "./compress.ts";
import { ageThresholds, type DiskFullConfig } from "./config.ts";
import type { NameVerdict } from "./find-candidates.ts";
import { formatDays } from "./format.ts";
import { globMatcher } from "./glob.ts";

export type Kind = "logs" | "temp" | "backups";

/** One kind of cleaning: which folders, which files in them, and what is done to those files. */
export interface Category {
  kind: Kind;
  action: "remove_files" | "compress_files";
  dirs: readonly string[];
  minAgeDays: number;
  /** Why these files may go, in the audit trail: "rotated logs older than 7d". */
  reason: string;
  accept: (basename: string) => NameVerdict;
}

/** The cleaning kinds in the order they run: cheapest and safest space first, compression last. */
export function categories(config: DiskFullConfig): Category[] {
  const age = ageThresholds(config);
  const isRotatedLog = globMatcher(config.log_patterns);
  const isBackup = globMatcher(config.backup_patterns);
  return [
    {
      kind: "logs",
      action: "remove_files",
      dirs: config.log_dirs,
      minAgeDays: age.logs,
      reason: `rotated logs older than ${formatDays(age.logs)}`,
      accept: isRotatedLog,
    },
    {
      kind: "temp",
      action: "remove_files",
      dirs: config.temp_dirs,
      minAgeDays: age.temp,
      reason: `temporary files older than ${formatDays(age.temp)}`,
      accept: () => true,
    },
    {
      kind: "backups",
      action: "compress_files",
      dirs: config.backup_dirs,
      minAgeDays: age.backups,
      reason: `uncompressed backups older than ${formatDays(age.backups)}`,
      accept: (name) => {
        if (name.endsWith(TMP_SUFFIX)) return false;
        if (!isBackup(name)) return false;
        return isCompressedName(name) ? { skip: "already compressed" } : true;
      },
    },
  ];
}
