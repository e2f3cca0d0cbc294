import { statfs } from "node:fs/promises";

export interface FilesystemUsage {
  /** Used share of the space an unprivileged user could have, as df computes Use%. */
  usedPercent: number;
  sizeBytes: number;
  usedBytes: number;
  availBytes: number;
}

/** statfs of the filesystem holding `p`. */
export async function filesystemUsage(p: string): Promise<FilesystemUsage> {
  const s = await statfs(p);
  const used = (s.blocks - s.bfree) * s.bsize;
  const avail = s.bavail * s.bsize;
  // Like df: root-reserved blocks count as neither used nor available.
  const usedPercent = used + avail === 0 ? 0 : (used / (used + avail)) * 100;
  return { usedPercent, sizeBytes: s.blocks * s.bsize, usedBytes: used, availBytes: avail };
}
