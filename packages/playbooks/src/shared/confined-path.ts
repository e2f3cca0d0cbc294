import { realpath, stat } from "node:fs/promises";
import path from "node:path";

/** Refused: an untrusted path (an alert label) is not a regular file inside the configured places. */
export class PathNotAllowedError extends Error {
  override readonly name = "PathNotAllowedError";
}

const inside = (real: string, root: string) => real === root || real.startsWith(root.endsWith("/") ? root : `${root}/`);

/**
 * Accept an untrusted path only if it is absolute, plain (no '.'/'..' segments, no control characters)
 * and its real path (symlinks resolved) is one of `files` or inside one of `roots`, and is a regular file
 * of at most `maxBytes`. Returns the real path: the only form that reaches any action.
 */
export async function confinedFile(
  candidate: string,
  allowed: { roots: readonly string[]; files: readonly string[] },
  maxBytes = Number.POSITIVE_INFINITY,
): Promise<{ real: string; size: number }> {
  const shown = JSON.stringify(candidate.slice(0, 200));
  // eslint-disable-next-line no-control-regex
  if (!path.isAbsolute(candidate) || /[\x00-\x1f\x7f]/.test(candidate) || candidate.split("/").some((s) => s === "." || s === "..")) {
    throw new PathNotAllowedError(`${shown} is not a plain absolute path`);
  }
  const real = await realpath(candidate).catch(() => null);
  if (!real) throw new PathNotAllowedError(`${shown} does not exist`);
  const resolve = (list: readonly string[]) => Promise.all(list.map((p) => realpath(p).catch(() => null)));
  const [roots, files] = await Promise.all([resolve(allowed.roots), resolve(allowed.files)]);
  if (!files.includes(real) && !roots.some((r) => r !== null && inside(real, r))) {
    throw new PathNotAllowedError(`${shown} is not one of the configured files or inside the configured roots`);
  }
  const st = await stat(real);
  if (!st.isFile()) throw new PathNotAllowedError(`${shown} is not a regular file`);
  if (st.size > maxBytes) throw new PathNotAllowedError(`${shown} is larger than ${maxBytes} bytes`);
  return { real, size: st.size };
}
