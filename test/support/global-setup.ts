import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { migrate, startEmbeddedPostgres, type EmbeddedDatabase } from "@ccm/store";

declare module "vitest" {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgTemplate: string;
  }
}

const SHARED_SERVER = "postgres://postgres@127.0.0.1:5432/postgres";

async function reachable(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  try {
    await c.connect();
    await c.query("select 1");
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * Real Postgres for every test: the server at 127.0.0.1:5432 when it answers (or CCM_TEST_DATABASE_URL),
 * else an embedded one in a temp folder. One migrated template; each test file clones it.
 */
export default async function setup(project: TestProject) {
  let embedded: EmbeddedDatabase | undefined;
  let embeddedDir: string | undefined;
  let admin = process.env.CCM_TEST_DATABASE_URL ?? SHARED_SERVER;
  if (!(await reachable(admin))) {
    embeddedDir = await mkdtemp(path.join(os.tmpdir(), "ccm-test-pg-"));
    embedded = await startEmbeddedPostgres(embeddedDir, { port: 55000 + (process.pid % 1000) });
    admin = embedded.url;
    console.log(`[ccm tests] 127.0.0.1:5432 not reachable; using an embedded Postgres in ${embeddedDir}`);
  }
  const template = `ccm_tpl_${process.pid}_${Date.now().toString(36)}`;
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  await c.query(`create database ${template}`);
  await c.end();
  await migrate(withDatabase(admin, template));

  // Agents spawned by tests keep their lock and journal under one folder removed at the end.
  const stateRoot = await mkdtemp(path.join(os.tmpdir(), "ccm-test-state-"));
  process.env.CCM_TEST_STATE_ROOT = stateRoot;

  project.provide("pgAdminUrl", admin);
  project.provide("pgTemplate", template);

  return async () => {
    const d = new pg.Client({ connectionString: admin });
    await d.connect();
    await d.query(`drop database if exists ${template} with (force)`);
    await d.end();
    await embedded?.stop();
    await rm(stateRoot, { recursive: true, force: true });
    if (embeddedDir) await rm(embeddedDir, { recursive: true, force: true });
  };
}
