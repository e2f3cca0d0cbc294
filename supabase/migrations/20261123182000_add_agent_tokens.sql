-- Per-agent tokens, operator identities and the token-taking functions agents call.
--
-- Agents hold no service-role key and no database password: they call the ccm.agent_* functions
-- below with their own bearer token. The token itself is never stored, only its sha256 (hex).
-- Each wrapper resolves the agent from the hash and calls the internal function with that
-- agent's id, so a stolen host can act only on its own runs. The internal functions
-- (ccm.claim_runs, ccm.finish_run, ...) stay callable only by the owner (direct connections).
-- Grants to Supabase's roles are in the *_grant_supabase_roles migration.

alter table ccm.agents
  -- hex sha256 of the agent's token; null = no token issued (or revoked).
  add column token_hash text,
  add column token_issued_at timestamptz,
  add column token_revoked_at timestamptz,
  -- Private Realtime topic of this agent's wake-ups. Random, so only the agent (which learns it
  -- through ccm.agent_register with its token) knows which topic to listen on.
  add column wake_topic text not null default ('ccm-wake-' || replace(gen_random_uuid()::text, '-', ''));
alter table ccm.agents add constraint agents_token_hash_format check (token_hash ~ '^[0-9a-f]{64}$');
create unique index agents_token_hash_key on ccm.agents (token_hash) where token_hash is not null;

-- Supabase Auth users allowed to run operator functions (enrol, rotate, revoke) through PostgREST.
create table ccm.operators (
  user_id  uuid primary key,            -- auth.users.id, i.e. auth.uid() of the operator's session
  note     text,
  added_at timestamptz not null default now()
);
alter table ccm.operators enable row level security;

-- sha256 of a token, hex. pg_catalog.sha256 (PG >= 11): no pgcrypto needed, which Supabase
-- installs in the `extensions` schema rather than `public`.
create function ccm.token_hash(p_token text)
returns text
language sql
immutable
set search_path = ''
as $$
  select encode(pg_catalog.sha256(convert_to(p_token, 'UTF8')), 'hex')
$$;

-- The agent a token belongs to, or SQLSTATE 28000 (PostgREST answers 403).
create function ccm.agent_for_token(p_token text)
returns uuid
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_id uuid;
begin
  if p_token is null or length(p_token) < 32 then
    raise exception using errcode = '28000', message = 'invalid agent token';
  end if;
  select a.id into v_id from ccm.agents a
   where a.token_hash = ccm.token_hash(p_token) and a.token_revoked_at is null;
  if not found then
    raise exception using errcode = '28000', message = 'invalid or revoked agent token';
  end if;
  return v_id;
end
$$;

-- Called by operator functions: who may enrol, rotate and revoke.
-- No request.jwt.claims: a direct SQL connection, already limited by EXECUTE grants (owner only).
-- Through PostgREST: the service role, or an authenticated user listed in ccm.operators.
create function ccm.assert_operator()
returns void
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_claims jsonb := nullif(current_setting('request.jwt.claims', true), '')::jsonb;
  v_role text := v_claims ->> 'role';
begin
  if v_claims is null or v_role = 'service_role' then
    return;
  end if;
  if v_role = 'authenticated' and exists (select 1 from ccm.operators o where o.user_id = auth.uid()) then
    return;
  end if;
  raise exception using errcode = '42501', message = 'operator role required';
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Operator functions: issue, rotate and revoke agent tokens. The CLI generates the token and
-- sends only its hash, so the token never crosses the database and is shown exactly once.

-- Enrol a host with a first token. Fails when the host already holds an active token (use rotate).
create function ccm.op_enroll_agent(p_host text, p_token_hash text, p_labels jsonb default null)
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_id uuid;
  v_hash text;
begin
  perform ccm.assert_operator();
  if p_host is null or p_host !~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$' then
    raise exception using errcode = '22023', message = 'host must be a host name';
  end if;
  if p_token_hash is null or p_token_hash !~ '^[0-9a-f]{64}$' then
    raise exception using errcode = '22023', message = 'token hash must be 64 hex characters (sha256)';
  end if;
  select a.id, a.token_hash into v_id, v_hash from ccm.agents a where lower(a.host) = lower(p_host) for update;
  if found and v_hash is not null then
    raise exception using errcode = '23505', message = 'host ' || p_host || ' already has a token; rotate it instead';
  end if;
  if v_id is null then
    insert into ccm.agents (host, labels) values (p_host, coalesce(p_labels, '{}'::jsonb)) returning id into v_id;
  elsif p_labels is not null then
    update ccm.agents a set labels = p_labels where a.id = v_id;
  end if;
  update ccm.agents a
     set token_hash = p_token_hash, token_issued_at = now(), token_revoked_at = null
   where a.id = v_id;
  return v_id;
end
$$;

-- Replace a host's token; the old one fails on its next call.
create function ccm.op_rotate_agent_token(p_host text, p_token_hash text)
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_id uuid;
begin
  perform ccm.assert_operator();
  if p_token_hash is null or p_token_hash !~ '^[0-9a-f]{64}$' then
    raise exception using errcode = '22023', message = 'token hash must be 64 hex characters (sha256)';
  end if;
  update ccm.agents a
     set token_hash = p_token_hash, token_issued_at = now(), token_revoked_at = null
   where lower(a.host) = lower(p_host)
  returning a.id into v_id;
  if not found then
    raise exception using errcode = 'P0002', message = 'no agent enrolled for host ' || coalesce(p_host, '(null)');
  end if;
  return v_id;
end
$$;

-- Revoke a host's token: its next call fails. Its queued and claimed runs stay for the lease sweeper.
create function ccm.op_revoke_agent_token(p_host text)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform ccm.assert_operator();
  update ccm.agents a set token_hash = null, token_revoked_at = now()
   where lower(a.host) = lower(p_host) and a.token_hash is not null;
  return found;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Agent functions: every one takes the agent's token first and acts only as that agent.

-- Start-up: update this agent's own row (never its host name) and route tasks that waited for it.
-- Aliases that name another agent are refused, so a stolen host cannot pull others' alerts.
create function ccm.agent_register(
  p_token text,
  p_aliases text[] default '{}',
  p_labels jsonb default '{}'::jsonb,
  p_version text default null,
  p_playbooks text[] default '{}',
  p_facts jsonb default '{}'::jsonb
)
returns table (agent_id uuid, host text, wake_topic text)
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_id uuid := ccm.agent_for_token(p_token);
  v_host text;
  v_taken text;
begin
  select a.host into v_host from ccm.agents a where a.id = v_id;
  select x into v_taken from unnest(coalesce(p_aliases, '{}')) x
   where exists (select 1 from ccm.agents o
                  where o.id <> v_id
                    and (lower(o.host) = lower(x) or exists (select 1 from unnest(o.aliases) y where lower(y) = lower(x))))
   limit 1;
  if v_taken is not null then
    raise exception using errcode = '42501', message = 'alias ' || v_taken || ' belongs to another agent';
  end if;
  perform ccm.enroll_agent(v_host, p_aliases, p_labels, p_version, p_playbooks, p_facts);
  return query select a.id, a.host, a.wake_topic from ccm.agents a where a.id = v_id;
end
$$;

create function ccm.agent_heartbeat(p_token text, p_facts jsonb default null)
returns boolean
language sql
security definer
set search_path = ''
as $$
  select ccm.heartbeat(ccm.agent_for_token(p_token), p_facts)
$$;

create function ccm.agent_claim_runs(p_token text, p_limit integer default 1, p_lease_seconds integer default 30)
returns table (
  run_id uuid, task_id uuid, attempt integer, source text, alertname text, host text,
  labels jsonb, annotations jsonb, fingerprint text, starts_at timestamptz, lease_expires_at timestamptz
)
language plpgsql
security definer
set search_path = ''
as $$
begin
  if p_limit is null or p_limit < 0 or p_limit > 100 or p_lease_seconds is null or p_lease_seconds > 3600 then
    raise exception using errcode = '22023', message = 'limit must be 0..100 and lease at most 3600 s';
  end if;
  return query select * from ccm.claim_runs(ccm.agent_for_token(p_token), p_limit, p_lease_seconds);
end
$$;

create function ccm.agent_start_run(
  p_token text, p_run_id uuid, p_playbook text, p_idempotent boolean, p_dry_run boolean
)
returns boolean
language sql
security definer
set search_path = ''
as $$
  select ccm.start_run(p_run_id, ccm.agent_for_token(p_token), p_playbook, p_idempotent, p_dry_run)
$$;

create function ccm.agent_renew_lease(p_token text, p_run_id uuid, p_lease_seconds integer default 30)
returns text
language plpgsql
security definer
set search_path = ''
as $$
begin
  if p_lease_seconds is null or p_lease_seconds < 1 or p_lease_seconds > 3600 then
    raise exception using errcode = '22023', message = 'lease must be 1..3600 s';
  end if;
  return ccm.renew_lease(p_run_id, ccm.agent_for_token(p_token), p_lease_seconds);
end
$$;

create function ccm.agent_record_step(
  p_token text, p_run_id uuid, p_phase text, p_action text, p_args jsonb default '{}'::jsonb
)
returns bigint
language sql
security definer
set search_path = ''
as $$
  select ccm.record_step(p_run_id, ccm.agent_for_token(p_token), p_phase, p_action, p_args)
$$;

create function ccm.agent_finish_step(
  p_token text, p_step_id bigint, p_status text, p_detail text default null, p_data jsonb default null,
  p_exit_code integer default null, p_duration_ms integer default null, p_output_tail text default null
)
returns boolean
language sql
security definer
set search_path = ''
as $$
  select ccm.finish_step(p_step_id, ccm.agent_for_token(p_token), p_status, p_detail, p_data,
                         p_exit_code, p_duration_ms, p_output_tail)
$$;

create function ccm.agent_finish_run(
  p_token text, p_run_id uuid, p_status text, p_summary text default null,
  p_result jsonb default null, p_error text default null
)
returns boolean
language sql
security definer
set search_path = ''
as $$
  select ccm.finish_run(p_run_id, ccm.agent_for_token(p_token), p_status, p_summary, p_result, p_error)
$$;

create function ccm.agent_release_run(p_token text, p_run_id uuid, p_reason text default 'agent shut down')
returns text
language sql
security definer
set search_path = ''
as $$
  select ccm.release_run(p_run_id, ccm.agent_for_token(p_token), p_reason)
$$;

-- ---------------------------------------------------------------------------------------------
-- Realtime wake-up: where Supabase's realtime.send exists, broadcast to the agent's private topic
-- whenever a run becomes claimable. Checked per call, so the same migration works on plain
-- Postgres (LISTEN/NOTIFY only) and on Supabase. A failed hint never blocks the task.
create function ccm.broadcast_run_queued()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_topic text;
begin
  if new.status = 'queued' and (tg_op = 'INSERT' or old.status is distinct from 'queued')
     and to_regprocedure('realtime.send(jsonb, text, text, boolean)') is not null then
    select a.wake_topic into v_topic from ccm.agents a where a.id = new.agent_id;
    begin
      execute 'select realtime.send($1, $2, $3, true)'
        using jsonb_build_object('run_id', new.id), 'run_queued', v_topic;
    exception when others then
      raise warning 'ccm: realtime.send failed for topic %: %', v_topic, sqlerrm;
    end;
  end if;
  return null;
end
$$;

create trigger runs_broadcast_queued
  after insert or update of status on ccm.runs
  for each row execute function ccm.broadcast_run_queued();

revoke all on function
  ccm.token_hash(text),
  ccm.agent_for_token(text),
  ccm.assert_operator(),
  ccm.op_enroll_agent(text, text, jsonb),
  ccm.op_rotate_agent_token(text, text),
  ccm.op_revoke_agent_token(text),
  ccm.agent_register(text, text[], jsonb, text, text[], jsonb),
  ccm.agent_heartbeat(text, jsonb),
  ccm.agent_claim_runs(text, integer, integer),
  ccm.agent_start_run(text, uuid, text, boolean, boolean),
  ccm.agent_renew_lease(text, uuid, integer),
  ccm.agent_record_step(text, uuid, text, text, jsonb),
  ccm.agent_finish_step(text, bigint, text, text, jsonb, integer, integer, text),
  ccm.agent_finish_run(text, uuid, text, text, jsonb, text),
  ccm.agent_release_run(text, uuid, text),
  ccm.broadcast_run_queued()
from public;
