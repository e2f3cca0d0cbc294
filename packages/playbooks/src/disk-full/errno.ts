/** The errno code of a Node fs error ("ENOENT"), or "error" when there is none. */
export function errnoCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "error";
}
