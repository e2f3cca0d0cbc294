import { timingSafeEqual, createHash } from "node:crypto";
import type { Context } from "hono";
import { RequestRejected } from "../http-errors.ts";

/**
 * Constant-time bearer check; `expected` undefined means the endpoint is open. `expected` may list
 * several tokens separated by commas ("current,next") so a rotation never drops alerts: senders
 * move to the next token while the old one still works, then the old one is removed.
 */
export function checkBearer(c: Context, expected: string | undefined): void {
  if (expected === undefined) return;
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer\s+(.+)$/i.exec(header);
  // Hash both sides so the comparison is constant-time whatever the lengths; compare with every
  // accepted token (no early exit) so timing does not tell which one matched.
  const given = createHash("sha256").update(match?.[1] ?? "").digest();
  let ok = false;
  for (const token of expected.split(",")) {
    const want = createHash("sha256").update(token.trim()).digest();
    ok = timingSafeEqual(given, want) || ok;
  }
  if (!match || !ok) {
    throw new RequestRejected(401, "missing or wrong bearer token");
  }
}

export function requireJson(c: Context): void {
  const type = (c.req.header("content-type") ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/json") {
    throw new RequestRejected(415, `content-type must be application/json, got ${type || "none"}`);
  }
}

/** Read the raw body, bounded by maxBytes (413); empty is 400. Signature checks need the exact bytes. */
export async function readBody(c: Context, maxBytes: number): Promise<Buffer> {
  const declared = Number(c.req.header("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > maxBytes) {
    throw new RequestRejected(413, `body of ${declared} bytes exceeds the limit of ${maxBytes}`);
  }
  const body = c.req.raw.body;
  if (!body) throw new RequestRejected(400, "empty body");
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new RequestRejected(413, `body exceeds the limit of ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/** Parse raw bytes as JSON (400 when empty or invalid). */
export function parseJson(raw: Buffer): unknown {
  const text = raw.toString("utf8");
  if (text.trim() === "") throw new RequestRejected(400, "empty body");
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (err) {
    throw new RequestRejected(400, `invalid JSON: ${(err as Error).message.slice(0, 200)}`);
  }
  if (depthExceeds(value, MAX_JSON_DEPTH)) {
    throw new RequestRejected(400, `JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
  return value;
}

/** No alert format nests this deep; deeper input would only exhaust stacks further down. */
export const MAX_JSON_DEPTH = 64;

/** Iterative, so a hostile nesting cannot overflow the stack here. */
function depthExceeds(root: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[root, 0]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop() as [unknown, number];
    if (value === null || typeof value !== "object") continue;
    if (depth >= limit) return true;
    for (const child of Array.isArray(value) ? value : Object.values(value)) stack.push([child, depth + 1]);
  }
  return false;
}

/** Read and parse the body, bounded by maxBytes (413) and requiring valid JSON (400). */
export async function readJsonBody(c: Context, maxBytes: number): Promise<unknown> {
  return parseJson(await readBody(c, maxBytes));
}
