import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";
import { createPool, migrate, type Pool } from "@ccm/store";
import { withDatabase } from "../support/global-setup.ts";

/**
 * A database shaped like Supabase's, for tests only: the API roles (cluster-wide, created only
 * where missing, never dropped), an `auth` schema with auth.uid()/auth.jwt()/auth.role() reading
 * `request.jwt.claims` as PostgREST sets it, and optionally a stub `realtime` schema whose
 * realtime.send records its arguments. Then every migration, in order, as `supabase db push` would.
 */

const ROLES_SQL = `
do $$
declare
  r record;
begin
  for r in select * from (values
      ('anon', 'nologin noinherit'),
      ('authenticated', 'nologin noinherit'),
      ('service_role', 'nologin noinherit bypassrls'),
      ('authenticator', 'login noinherit')) as v(name, attrs)
  loop
    if not exists (select 1 from pg_roles where rolname = r.name) then
      begin
        execute format('create role %I %s', r.name, r.attrs);
      exception when duplicate_object or unique_violation then
        null; -- another test file created it at the same moment
      end;
    end if;
  end loop;
  for r in select unnest(array['anon', 'authenticated', 'service_role']) as name loop
    if not exists (select 1 from pg_auth_members m join pg_roles g on g.oid = m.roleid join pg_roles u on u.oid = m.member
                    where g.rolname = r.name and u.rolname = 'authenticator') then
      begin
        execute format('grant %I to authenticator', r.name);
      exception when others then
        null;
      end;
    end if;
  end loop;
end
$$;`;

const AUTH_SQL = `
create schema if not exists auth;
create or replace function auth.jwt() returns jsonb language sql stable as $$
  select coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb
$$;
create or replace function auth.uid() returns uuid language sql stable as $$
  select nullif(auth.jwt() ->> 'sub', '')::uuid
$$;
create or replace function auth.role() returns text language sql stable as $$
  select auth.jwt() ->> 'role'
$$;
grant usage on schema auth to anon, authenticated, service_role;
grant execute on all functions in schema auth to anon, authenticated, service_role;`;

// Records every realtime.send call; realtime.messages + realtime.topic() let the policy be created.
const REALTIME_SQL = `
create schema if not exists realtime;
create table realtime.sent (id bigint generated always as identity, payload jsonb, event text, topic text, private boolean);
create function realtime.send(payload jsonb, event text, topic text, private boolean default true)
returns void language sql as $$
  insert into realtime.sent (payload, event, topic, private) values (payload, event, topic, private)
$$;
create table realtime.messages (id bigint generated always as identity, topic text, extension text, payload jsonb);
alter table realtime.messages enable row level security;
create function realtime.topic() returns text language sql stable as $$
  select nullif(current_setting('realtime.topic', true), '')
$$;`;

export interface SupabaseTestDatabase {
  url: string;
  name: string;
  pool: Pool;
  drop(): Promise<void>;
}


/** `migrate: false` leaves the schema to the caller (the real `supabase db push` test). */
export async function createSupabaseTestDatabase(options: { realtime: boolean; migrate?: boolean }): Promise<SupabaseTestDatabase> {
  const admin = inject("pgAdminUrl");
  const name = `ccm_sb_${randomBytes(5).toString("hex")}`;
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  try {
    await c.query(ROLES_SQL);
    await c.query(`create database ${name}`);
  } finally {
    await c.end();
  }
  const url = withDatabase(admin, name);
  const d = new pg.Client({ connectionString: url });
  await d.connect();
  try {
    await d.query(AUTH_SQL);
    if (options.realtime) await d.query(REALTIME_SQL);
  } finally {
    await d.end();
  }
  if (options.migrate !== false) await migrate(url);
  const pool = createPool(url, { max: 5, applicationName: "ccm-test-supabase" });
  return {
    url,
    name,
    pool,
    async drop() {
      await pool.end();
      if (process.env.CCM_KEEP_TEST_DB === "1") return;
      const x = new pg.Client({ connectionString: admin });
      await x.connect();
      await x.query(`drop database if exists ${name} with (force)`);
      await x.end();
    },
  };
}

/**
 * One call the way PostgREST makes it: a transaction, `set local role`, the JWT claims as a
 * transaction-local setting, the statement, commit. Errors roll back and are rethrown.
 */
export async function asRole<T extends pg.QueryResultRow>(
  pool: Pool,
  role: "anon" | "authenticated" | "service_role",
  claims: Record<string, unknown>,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = await pool.connect();
  try {
    await client.query("begin");
    await client.query(`set local role ${role}`);
    await client.query("select set_config('request.jwt.claims', $1, true)", [JSON.stringify(claims)]);
    const { rows } = await client.query<T>(sql, params);
    await client.query("commit");
    return rows;
  } catch (err) {
    await client.query("rollback").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
