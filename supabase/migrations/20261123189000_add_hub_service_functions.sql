-- The hub's reads as functions, so the hub can run over PostgREST (supabase.rpc with the
-- service-role key) as well as over a direct connection, with one code path for both.

-- Latest applied migration (the Supabase CLI's tracking table, which `ccm db migrate` shares):
-- a hub on the supabase transport cannot migrate and refuses to start on an older schema.
create function ccm.schema_version()
returns text
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  if to_regclass('supabase_migrations.schema_migrations') is null then
    return null;
  end if;
  return (select max(version) from supabase_migrations.schema_migrations);
end
$$;

-- Everything /metrics derives from the database, in one call (one round trip, one snapshot).
create function ccm.hub_metrics_snapshot()
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select jsonb_build_object(
    'tasks', coalesce((select jsonb_agg(jsonb_build_object('status', status, 'n', n)) from (
      select status, count(*) as n from ccm.tasks group by status) x), '[]'::jsonb),
    'runs', coalesce((select jsonb_agg(jsonb_build_object('status', status, 'n', n)) from (
      select status, count(*) as n from ccm.runs group by status) x), '[]'::jsonb),
    'oldest_queued_s', (select extract(epoch from now() - min(created_at))::float8 from ccm.runs where status = 'queued'),
    'agents', coalesce((select jsonb_agg(jsonb_build_object('host', host, 'age', age)) from (
      select host, extract(epoch from now() - last_seen)::float8 as age from ccm.agents order by host limit 5000) x), '[]'::jsonb),
    'outbox', coalesce((select jsonb_agg(jsonb_build_object('channel', channel, 'status', status, 'n', n)) from (
      select channel, status, count(*) as n from ccm.notifications group by channel, status) x), '[]'::jsonb),
    'bands', coalesce((select jsonb_agg(jsonb_build_object('band', band, 'n', n)) from (
      select confidence->>'band' as band, count(*) as n from ccm.runs
       where created_at > now() - interval '24 hours' and confidence is not null group by 1) x), '[]'::jsonb),
    'budget_blocks', coalesce((select jsonb_agg(jsonb_build_object('playbook', playbook, 'n', n)) from (
      select r.playbook, count(*) as n from ccm.run_steps s join ccm.runs r on r.id = s.run_id
       where s.action = 'safety_rails' and s.data->>'reason' = 'budget' and s.started_at > now() - interval '1 hour'
       group by 1) x), '[]'::jsonb),
    'claim_latency', (
      select jsonb_build_object(
        'p50', percentile_cont(0.5) within group (order by extract(epoch from claimed_at - created_at))::float8,
        'p99', percentile_cont(0.99) within group (order by extract(epoch from claimed_at - created_at))::float8)
        from ccm.runs where claimed_at > now() - interval '5 minutes')
  )
$$;

do $$
begin
  if exists (select 1 from pg_roles where rolname = 'service_role') then
    grant execute on function ccm.schema_version() to service_role;
    grant execute on function ccm.hub_metrics_snapshot() to service_role;
  end if;
end
$$;
