-- Least privilege for Supabase's API roles. Runs after every other migration's functions.
--
--   anon           agents (anon key + their own token): only the ccm.agent_* functions
--   authenticated  operators signed in with Supabase Auth and listed in ccm.operators: ccm.op_*
--   service_role   the hub and the CLI with the service key: ingest, lease sweep, ccm.op_*, reads
--
-- No table is readable or writable by anon or authenticated (RLS is on with no policy, and no
-- table privilege is granted). On a plain Postgres without these roles only the revokes apply.

-- Nothing in ccm is executable by PUBLIC, including functions later migrations create:
-- PUBLIC's EXECUTE on new functions is a global default, so it can only be revoked globally
-- (for the role that runs migrations). Later migrations grant what they mean to expose.
revoke all on all functions in schema ccm from public;
alter default privileges revoke execute on functions from public;

do $$
declare
  v_role text;
  v_fn text;
begin
  foreach v_role in array array['anon', 'authenticated', 'service_role'] loop
    if not exists (select 1 from pg_roles where rolname = v_role) then
      continue;
    end if;
    execute format('grant usage on schema ccm to %I', v_role);
    execute format('revoke all on all tables in schema ccm from %I', v_role);
    execute format('revoke all on all sequences in schema ccm from %I', v_role);
    execute format('revoke all on all functions in schema ccm from %I', v_role);
  end loop;

  if exists (select 1 from pg_roles where rolname = 'anon') then
    foreach v_fn in array array[
      'ccm.agent_register(text, text[], jsonb, text, text[], jsonb)',
      'ccm.agent_heartbeat(text, jsonb)',
      'ccm.agent_claim_runs(text, integer, integer)',
      'ccm.agent_start_run(text, uuid, text, boolean, boolean)',
      'ccm.agent_renew_lease(text, uuid, integer)',
      'ccm.agent_record_step(text, uuid, text, text, jsonb)',
      'ccm.agent_finish_step(text, bigint, text, text, jsonb, integer, integer, text)',
      'ccm.agent_finish_run(text, uuid, text, text, jsonb, text)',
      'ccm.agent_release_run(text, uuid, text)'
    ] loop
      execute format('grant execute on function %s to anon', v_fn);
      if exists (select 1 from pg_roles where rolname = 'service_role') then
        execute format('grant execute on function %s to service_role', v_fn);
      end if;
    end loop;
  end if;

  foreach v_fn in array array[
    'ccm.op_enroll_agent(text, text, jsonb)',
    'ccm.op_rotate_agent_token(text, text)',
    'ccm.op_revoke_agent_token(text)'
  ] loop
    foreach v_role in array array['authenticated', 'service_role'] loop
      if exists (select 1 from pg_roles where rolname = v_role) then
        execute format('grant execute on function %s to %I', v_fn, v_role);
      end if;
    end loop;
  end loop;

  if exists (select 1 from pg_roles where rolname = 'service_role') then
    -- The hub's own work, and read access for the CLI's task views (service_role bypasses RLS).
    grant execute on function ccm.ingest_alerts(text, text, jsonb) to service_role;
    grant execute on function ccm.recover_expired_leases(integer) to service_role;
    grant select on all tables in schema ccm to service_role;
    alter default privileges in schema ccm grant select on tables to service_role;
  end if;

  -- Supabase Realtime authorisation for private topics: anon may receive broadcasts on the
  -- ccm wake-up topics. The topic name is a random per-agent value the agent learns only with
  -- its token, and the message is a hint carrying a run id, never the data.
  if to_regclass('realtime.messages') is not null and exists (select 1 from pg_roles where rolname = 'anon') then
    execute 'drop policy if exists ccm_agents_receive_wakeups on realtime.messages';
    execute $p$
      create policy ccm_agents_receive_wakeups on realtime.messages
        for select to anon
        using (realtime.messages.extension = 'broadcast' and (select realtime.topic()) like 'ccm-wake-%')
    $p$;
  end if;
end
$$;
