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
