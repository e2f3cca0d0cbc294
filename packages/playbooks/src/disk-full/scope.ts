import { realpath, stat } from "node:fs/promises";
import { errnoCode } from "./errno.ts";
import type { Mountpoint } from "./mountpoint.ts";

export type Scoped = { ok: true; root: string; dev: number } | { ok: false; reason: string };

/**
 * Whether a configured folder is on the alert's filesystem, and its real path. Only configured
 * folders are ever cleaned; the alert merely picks which of them by naming a filesystem.
 */
export async function scopeDir(dir: string, mount: Mountpoint): Promise<Scoped> {
  let root: string;
  try {
    root = await realpath(dir);
  } catch (err) {
    return { ok: false, reason: errnoCode(err) === "ENOENT" ? "does not exist" : `cannot be resolved (${errnoCode(err)})` };
  }
  if (root === "/") return { ok: false, reason: "resolves to /, which is never cleaned" };
  const st = await stat(root).catch(() => null);
  if (!st?.isDirectory()) return { ok: false, reason: "is not a folder" };
  if (st.dev !== mount.dev) return { ok: false, reason: `is on another filesystem than ${mount.path}` };
  return { ok: true, root, dev: st.dev };
}
