/** A timestamp as operators read it in tables: UTC, to the second, "-" when absent. */
export function formatTime(d: Date | null): string {
  return d ? d.toISOString().replace("T", " ").slice(0, 19) : "-";
}
