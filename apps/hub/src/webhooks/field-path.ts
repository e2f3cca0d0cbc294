/** The value at a dot-separated path ("a.b.0.c"; numeric parts index arrays), or undefined. */
export function getPath(root: unknown, path: string): unknown {
  let value: unknown = root;
  for (const part of path.split(".")) {
    if (value === null || typeof value !== "object") return undefined;
    if (Array.isArray(value)) {
      if (!/^\d+$/.test(part)) return undefined;
      value = value[Number(part)];
    } else {
      // Own properties only: "__proto__" or "constructor" in a path never reach Object.prototype.
      if (!Object.prototype.hasOwnProperty.call(value, part)) return undefined;
      value = (value as Record<string, unknown>)[part];
    }
  }
  return value;
}

/** A scalar as text (numbers and booleans too); objects, arrays and blanks are undefined. */
export function scalarText(value: unknown): string | undefined {
  if (typeof value === "string") return value.trim() === "" ? undefined : value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (typeof value === "boolean") return String(value);
  return undefined;
}
