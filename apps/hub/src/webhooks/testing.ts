// Test helpers for the webhook tests (not used by the hub itself).
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../test/fixtures/sources");

/** Path of a file under test/fixtures/sources. */
export function fixturePath(name: string): string {
  return path.join(FIXTURES, name);
}

/** The exact text of a fixture (signatures are over bytes, so tests post it unchanged). */
export function fixtureText(name: string): string {
  return readFileSync(fixturePath(name), "utf8");
}

export function fixture<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(fixtureText(name)) as T;
}

export interface Answer {
  status?: string;
  error?: string;
  details?: Array<{ path: string; message: string }>;
  alerts: Array<{ alert_id: number; task_id: string | null; outcome: string; host: string | null }>;
}

export async function json(res: Response): Promise<Answer> {
  return (await res.json()) as Answer;
}
