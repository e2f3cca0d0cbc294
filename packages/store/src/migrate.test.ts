import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import pg from "pg";
import { inject } from "vitest";
import { migrate } from "./migrate.ts";

const admin = inject("pgAdminUrl");
const name = `ccm_m_${randomBytes(4).toString("hex")}`;
const url = (() => {
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return u.toString();
})();

afterAll(async () => {
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  await c.query(`drop database if exists ${name} with (force)`);
  await c.end();
});

describe("migrate", () => {
  it("applies every migration once, records it where the Supabase CLI does, and is a no-op the second time", async () => {
    const c = new pg.Client({ connectionString: admin });
    await c.connect();
    await c.query(`create database ${name}`);
    await c.end();

    const first = await migrate(url);
    expect(first.applied.length).toBeGreaterThan(0);
    expect(first.skipped).toEqual([]);

    const second = await migrate(url);
    expect(second.applied).toEqual([]);
    expect(second.skipped).toEqual(first.applied);

    const d = new pg.Client({ connectionString: url });
    await d.connect();
    const { rows } = await d.query("select version from supabase_migrations.schema_migrations order by version");
    await d.end();
    expect(rows.map((r) => r.version)).toEqual(first.applied.map((f) => f.split("_")[0]));
  });

  it("two migrators at once apply each file once (advisory lock)", async () => {
    const other = `${name}_b`;
    const c = new pg.Client({ connectionString: admin });
    await c.connect();
    await c.query(`create database ${other}`);
    const u = new URL(admin);
    u.pathname = `/${other}`;
    try {
      const [a, b] = await Promise.all([migrate(u.toString()), migrate(u.toString())]);
      expect(a.applied.length + b.applied.length).toBe(a.applied.length + a.skipped.length);
    } finally {
      await c.query(`drop database if exists ${other} with (force)`);
      await c.end();
    }
  });
});
