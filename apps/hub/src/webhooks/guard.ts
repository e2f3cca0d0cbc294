import { timingSafeEqual, createHash } from "node:crypto";
import type { Context } from "hono";
import { RequestRejected } from "../http-errors.ts";

/** Constant-time bearer check; `expected` undefined means the endpoint is open. */
export function checkBearer(c: Context, expected: string | undefined): void {
  if (expected === undefined) return;
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer\s+(.+)$/i.exec(header);
  // Hash both sides so the comparison is constant-time whatever the lengths.
  const given = createHash("sha256").update(match?.[1] ?? "").digest();
  const want = createHash("sha256").update(expected).digest();
  if (!match || !timingSafeEqual(given, want)) {
    throw new RequestRejected(401, "missing or wrong bearer token");
  }
}

export function requireJson(c: Context): void {
  const type = (c.req.header("content-type") ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/json") {
    throw new RequestRejected(415, `content-type must be application/json, got ${type || "none"}`);
  }
}

/** Read and parse the body, bounded by maxBytes (413) and requiring valid JSON (400). */
export async function readJsonBody(c: Context, maxBytes: number): Promise<unknown> {
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
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") throw new RequestRejected(400, "empty body");
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new RequestRejected(400, `invalid JSON: ${(err as Error).message}`);
  }
}
