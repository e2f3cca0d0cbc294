-- Token-taking wrappers for the playbook engine's agent-side functions, so an agent that holds
-- only its token (Supabase: anon key + token; Postgres: a least-privileged role + token) can run
-- the engine. Each resolves the agent from the token (ccm.agent_for_token raises 28000 for an
-- unknown or revoked token) and calls the internal function, which checks the run is that agent's.

create function ccm.agent_run_context(p_token text, p_run_id uuid)
returns jsonb
language sql
security definer
set search_path = ''
as $$
  select ccm.run_context(p_run_id, ccm.agent_for_token(p_token))
$$;

create function ccm.agent_track_record(p_token text, p_playbook text, p_alert_class text, p_host_group text)
returns table (successes integer, failures integer)
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform ccm.agent_for_token(p_token);
  return query select * from ccm.track_record(p_playbook, p_alert_class, p_host_group);
end
$$;

create function ccm.agent_save_confidence(
  p_token text, p_run_id uuid, p_confidence jsonb, p_proposal jsonb default null, p_host_group text default null
)
returns boolean
language sql
security definer
set search_path = ''
as $$
  select ccm.save_confidence(p_run_id, ccm.agent_for_token(p_token), p_confidence, p_proposal, p_host_group)
$$;

create function ccm.agent_request_approval(
  p_token text, p_run_id uuid, p_summary text, p_proposal jsonb, p_result jsonb default null
)
returns boolean
language sql
security definer
set search_path = ''
as $$
  select ccm.request_approval(p_run_id, ccm.agent_for_token(p_token), p_summary, p_proposal, p_result)
$$;

create function ccm.agent_remediation_gate(p_token text)
returns jsonb
language sql
security definer
set search_path = ''
as $$
  select ccm.remediation_gate(ccm.agent_for_token(p_token))
$$;

create function ccm.agent_begin_remediation(p_token text, p_run_id uuid, p_approved boolean default false, p_claim boolean default true)
returns jsonb
language sql
security definer
set search_path = ''
as $$
  select ccm.begin_remediation(p_run_id, ccm.agent_for_token(p_token), p_approved, p_claim)
$$;

create function ccm.agent_record_outcome(p_token text, p_run_id uuid, p_success boolean)
returns boolean
language sql
security definer
set search_path = ''
as $$
  select ccm.record_outcome(p_run_id, ccm.agent_for_token(p_token), p_success)
$$;

create function ccm.agent_skip_run(p_token text, p_run_id uuid, p_summary text, p_result jsonb default null)
returns boolean
language sql
security definer
set search_path = ''
as $$
  select ccm.skip_run(p_run_id, ccm.agent_for_token(p_token), p_summary, p_result)
$$;

revoke all on function ccm.agent_run_context(text, uuid) from public;
revoke all on function ccm.agent_track_record(text, text, text, text) from public;
revoke all on function ccm.agent_save_confidence(text, uuid, jsonb, jsonb, text) from public;
revoke all on function ccm.agent_request_approval(text, uuid, text, jsonb, jsonb) from public;
revoke all on function ccm.agent_remediation_gate(text) from public;
revoke all on function ccm.agent_begin_remediation(text, uuid, boolean, boolean) from public;
revoke all on function ccm.agent_record_outcome(text, uuid, boolean) from public;
revoke all on function ccm.agent_skip_run(text, uuid, text, jsonb) from public;

-- Agents (anon key + token) and the service role may call them, where those roles exist.
do $$
declare
  v_role text;
  v_fn text;
begin
  foreach v_role in array array['anon', 'service_role'] loop
    if not exists (select 1 from pg_roles where rolname = v_role) then
      continue;
    end if;
    foreach v_fn in array array[
      'ccm.agent_run_context(text, uuid)',
      'ccm.agent_track_record(text, text, text, text)',
      'ccm.agent_save_confidence(text, uuid, jsonb, jsonb, text)',
      'ccm.agent_request_approval(text, uuid, text, jsonb, jsonb)',
      'ccm.agent_remediation_gate(text)',
      'ccm.agent_begin_remediation(text, uuid, boolean, boolean)',
      'ccm.agent_record_outcome(text, uuid, boolean)',
      'ccm.agent_skip_run(text, uuid, text, jsonb)'
    ] loop
      execute format('grant execute on function %s to %I', v_fn, v_role);
    end loop;
  end loop;
end
$$;
