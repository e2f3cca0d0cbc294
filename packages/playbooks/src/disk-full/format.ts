const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** Human bytes for summaries: "512 B", "12.3 MiB", "1.2 GiB". */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** Used percent rounded up, as df prints it, so a summary never shows less than is used. */
export function formatPercent(percent: number): string {
  return `${Math.ceil(percent)}%`;
}

/** Ages in config are days; "7d", "0.5d". */
export function formatDays(days: number): string {
  return `${days}d`;
}
