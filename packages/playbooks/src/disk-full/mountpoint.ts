import { stat } from "node:fs/promises";
import path from "node:path";
import { PlaybookInputError } from "../types.ts";
import { errnoCode } from "./errno.ts";

export interface Mountpoint {
  path: string;
  dev: number;
}

const MAX_LABEL_LENGTH = 4096;

/** Show an untrusted label in a message without letting it run on for pages or break the line. */
function quote(label: string): string {
  return JSON.stringify(label.length > 200 ? `${label.slice(0, 200)}…` : label);
}

/**
 * Validate the alert's `mountpoint` label and stat it. The label is untrusted: it is only ever
 * stat'ed to learn which filesystem is full, never used as a folder to clean or passed to a shell.
 */
export async function resolveMountpoint(labels: Record<string, string>): Promise<Mountpoint> {
  const label = labels.mountpoint;
  if (label === undefined || label.trim() === "") {
    throw new PlaybookInputError("the alert has no mountpoint label, so the full filesystem is unknown");
  }
  // eslint-disable-next-line no-control-regex
  if (label.length > MAX_LABEL_LENGTH || /[\u0000-\u001f\u007f]/.test(label)) {
    throw new PlaybookInputError(`mountpoint label ${quote(label)} is too long or contains control characters`);
  }
  if (!path.isAbsolute(label)) {
    throw new PlaybookInputError(`mountpoint label ${quote(label)} must be an absolute path`);
  }
  if (label.split("/").some((s) => s === "." || s === "..")) {
    throw new PlaybookInputError(`mountpoint label ${quote(label)} must not contain '.' or '..' segments`);
  }
  let st;
  try {
    st = await stat(label);
  } catch (err) {
    throw new PlaybookInputError(`mountpoint ${quote(label)} cannot be read on this host (${errnoCode(err)})`, {
      cause: err,
    });
  }
  if (!st.isDirectory()) throw new PlaybookInputError(`mountpoint ${quote(label)} is not a directory`);
  return { path: label, dev: st.dev };
}
