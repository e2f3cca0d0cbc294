import { open, realpath } from "node:fs/promises";
import path from "node:path";

/** Refused: the file is outside the configured log roots, or is not a regular file. */
export class LogFileNotAllowedError extends Error {
  override readonly name = "LogFileNotAllowedError";
}

/**
 * The last `lines` lines (at most `maxBytes`) of a file under one of `roots`. The real path must be
 * inside a root, so a symlink cannot lead the agent to read /etc/shadow into the audit trail.
 */
export async function tailFile(file: string, roots: readonly string[], lines: number, maxBytes = 64 * 1024): Promise<string> {
  if (!path.isAbsolute(file)) throw new LogFileNotAllowedError(`${file}: not an absolute path`);
  const real = await realpath(file);
  const realRoots = await Promise.all(roots.map((r) => realpath(r).catch(() => null)));
  if (!realRoots.some((r) => r !== null && (real === r || real.startsWith(r.endsWith("/") ? r : `${r}/`)))) {
    throw new LogFileNotAllowedError(`${file}: not under the configured log roots (${roots.join(", ")})`);
  }
  const fh = await open(real, "r");
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new LogFileNotAllowedError(`${file}: not a regular file`);
    const len = Math.min(st.size, maxBytes);
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, st.size - len);
    const text = buf.toString("utf8").split("\n");
    if (text.at(-1) === "") text.pop();
    return text.slice(-lines).join("\n");
  } finally {
    await fh.close();
  }
}
