/** Alert names (node_exporter mixin, awesome-prometheus-alerts and common custom rules) this playbook answers. */
export const DISK_FULL_ALERTNAMES: readonly string[] = [
  "NodeFilesystemAlmostOutOfSpace",
  "NodeFilesystemSpaceFillingUp",
  "HostOutOfDiskSpace",
  "HostDiskWillFillIn24Hours",
  "DiskSpaceLow",
  "DiskFull",
  "DiskSpaceUsageHigh",
  "FilesystemAlmostFull",
];

/** True for a disk-space alert (or `ccm_playbook="disk-full"`) that names the filesystem in `mountpoint`. */
export function matchesDiskFull(labels: Record<string, string>): boolean {
  const wanted = labels.ccm_playbook === "disk-full" || DISK_FULL_ALERTNAMES.includes(labels.alertname ?? "");
  // Without a mountpoint we would not know which filesystem to clean: leave it to a human.
  return wanted && (labels.mountpoint ?? "").trim() !== "";
}

/** The engine's view of matchesDiskFull: an explicit `ccm_playbook` label or a known alert name match fully. */
export function matchDiskFull(labels: Record<string, string>): { quality: number; reason: string } | null {
  if (!matchesDiskFull(labels)) return null;
  return labels.ccm_playbook === "disk-full"
    ? { quality: 1, reason: "label ccm_playbook=disk-full" }
    : { quality: 1, reason: `alertname ${labels.alertname} is a disk-space alert with a mountpoint` };
}
