-- Agent lifecycle and the run state machine:
-- queued -> claimed -> running -> succeeded | failed | escalated | awaiting_approval | cancelled | expired | unknown

-- Wake-up hint: NOTIFY on the agent's own channel whenever a run becomes claimable.
-- It carries only the run id; agents always claim through ccm.claim_runs.
create function ccm.agent_channel(p_agent_id uuid)
returns text
language sql
immutable
set search_path = ''
as $$
  select 'ccm_agent_' || replace(p_agent_id::text, '-', '')
$$;

create function ccm.notify_run_queued()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.status = 'queued' and (tg_op = 'INSERT' or old.status is distinct from 'queued') then
    perform pg_notify(ccm.agent_channel(new.agent_id), new.id::text);
  end if;
  return null;
end
$$;

create trigger runs_notify_queued
  after insert or update of status on ccm.runs
  for each row execute function ccm.notify_run_queued();

-- Enrol (or re-enrol) a host. Tasks that arrived for this host before it had an agent are
-- routed to it now, unless their alert already resolved.
create function ccm.enroll_agent(
  p_host text,
  p_aliases text[] default '{}',
  p_labels jsonb default '{}'::jsonb,
  p_version text default null,
  p_playbooks text[] default '{}',
  p_facts jsonb default '{}'::jsonb
)
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_id uuid;
  v_task record;
begin
  if p_host is null or length(trim(p_host)) = 0 then
    raise exception using errcode = '22023', message = 'host must not be empty';
  end if;
  insert into ccm.agents as a (host, aliases, labels, version, playbooks, facts)
  values (trim(p_host), coalesce(p_aliases, '{}'), coalesce(p_labels, '{}'::jsonb), p_version,
          coalesce(p_playbooks, '{}'), coalesce(p_facts, '{}'::jsonb))
  on conflict ((lower(host))) do update
    set aliases = excluded.aliases, labels = excluded.labels, version = excluded.version,
        playbooks = excluded.playbooks, facts = excluded.facts, last_seen = now()
  returning a.id into v_id;

  for v_task in
    select t.id, t.host from ccm.tasks t
     where t.status = 'unrouted' and t.resolved_at is null and t.host is not null
     for update skip locked
  loop
    if ccm.find_agent(v_task.host) = v_id then
      update ccm.tasks t set agent_id = v_id, status = 'queued', summary = null, updated_at = now()
       where t.id = v_task.id;
      insert into ccm.runs (task_id, agent_id) values (v_task.id, v_id);
    end if;
  end loop;
  return v_id;
end
$$;

create function ccm.heartbeat(p_agent_id uuid, p_facts jsonb default null)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
begin
  update ccm.agents a set last_seen = now(), facts = coalesce(p_facts, a.facts) where a.id = p_agent_id;
  return found;
end
$$;

-- Claim up to p_limit queued runs of this agent, each with a lease. SKIP LOCKED: concurrent
-- claimers never wait on each other and never get the same run.
create function ccm.claim_runs(p_agent_id uuid, p_limit integer default 1, p_lease_seconds integer default 30)
returns table (
  run_id uuid, task_id uuid, attempt integer, source text, alertname text, host text,
  labels jsonb, annotations jsonb, fingerprint text, starts_at timestamptz, lease_expires_at timestamptz
)
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
begin
  if p_lease_seconds < 1 then
    raise exception using errcode = '22023', message = 'lease must be at least 1 second';
  end if;
  update ccm.agents a set last_seen = now() where a.id = p_agent_id;
  if not found then
    raise exception using errcode = 'P0002', message = 'unknown agent ' || p_agent_id;
  end if;
  return query
  with picked as (
    select r.id from ccm.runs r
     where r.agent_id = p_agent_id and r.status = 'queued'
     order by r.created_at
     limit greatest(p_limit, 0)
     for update skip locked
  ), claimed as (
    update ccm.runs r
       set status = 'claimed', claimed_at = now(), updated_at = now(),
           lease_expires_at = now() + make_interval(secs => p_lease_seconds)
      from picked
     where r.id = picked.id
    returning r.id, r.task_id, r.attempt, r.lease_expires_at
  )
  select c.id, c.task_id, c.attempt, t.source, t.alertname, t.host, t.labels, t.annotations,
         t.fingerprint, t.starts_at, c.lease_expires_at
    from claimed c join ccm.tasks t on t.id = c.task_id;
end
$$;

-- The agent has chosen a playbook and begins to act. False when the run is no longer its to start
-- (cancelled because the alert resolved, or its lease was lost).
create function ccm.start_run(
  p_run_id uuid, p_agent_id uuid, p_playbook text, p_idempotent boolean, p_dry_run boolean
)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_task uuid;
begin
  update ccm.runs r
     set status = 'running', started_at = now(), updated_at = now(),
         playbook = p_playbook, idempotent = p_idempotent, dry_run = p_dry_run
   where r.id = p_run_id and r.agent_id = p_agent_id and r.status = 'claimed'
  returning r.task_id into v_task;
  if not found then
    return false;
  end if;
  update ccm.tasks t set status = 'running', updated_at = now() where t.id = v_task;
  return true;
end
$$;

-- Extend the lease. Returns the run's status: 'claimed'/'running' means keep going, anything
-- else (cancelled, expired, unknown, ...) means stop.
create function ccm.renew_lease(p_run_id uuid, p_agent_id uuid, p_lease_seconds integer default 30)
returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_status text;
begin
  update ccm.runs r
     set lease_expires_at = now() + make_interval(secs => p_lease_seconds), updated_at = now()
   where r.id = p_run_id and r.agent_id = p_agent_id and r.status in ('claimed', 'running')
  returning r.status into v_status;
  if found then
    update ccm.agents a set last_seen = now() where a.id = p_agent_id;
    return v_status;
  end if;
  select r.status into v_status from ccm.runs r where r.id = p_run_id and r.agent_id = p_agent_id;
  return coalesce(v_status, 'not_found');
end
$$;

-- Write a step before its action runs; ccm.finish_step completes it. Returns the step id.
create function ccm.record_step(
  p_run_id uuid, p_agent_id uuid, p_phase text, p_action text, p_args jsonb default '{}'::jsonb
)
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_id bigint;
begin
  perform 1 from ccm.runs r
   where r.id = p_run_id and r.agent_id = p_agent_id and r.status = 'running'
   for update;
  if not found then
    raise exception using errcode = 'P0002', message = 'run ' || p_run_id || ' is not running on this agent';
  end if;
  insert into ccm.run_steps (run_id, seq, phase, action, args)
  values (p_run_id,
          coalesce((select max(s.seq) from ccm.run_steps s where s.run_id = p_run_id), 0) + 1,
          p_phase, p_action, coalesce(p_args, '{}'::jsonb))
  returning id into v_id;
  return v_id;
end
$$;

create function ccm.finish_step(
  p_step_id bigint, p_agent_id uuid, p_status text, p_detail text default null, p_data jsonb default null,
  p_exit_code integer default null, p_duration_ms integer default null, p_output_tail text default null
)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
begin
  update ccm.run_steps s
     set status = p_status, detail = p_detail, data = p_data, exit_code = p_exit_code,
         duration_ms = p_duration_ms, output_tail = p_output_tail, finished_at = now()
    from ccm.runs r
   where s.id = p_step_id and r.id = s.run_id and r.agent_id = p_agent_id;
  return found;
end
$$;

-- Final state of a run, mirrored on its task. False when the run was not this agent's to finish.
create function ccm.finish_run(
  p_run_id uuid, p_agent_id uuid, p_status text, p_summary text default null,
  p_result jsonb default null, p_error text default null
)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_task uuid;
begin
  if p_status not in ('succeeded', 'failed', 'escalated', 'awaiting_approval', 'unknown') then
    raise exception using errcode = '22023', message = 'invalid final status ' || p_status;
  end if;
  update ccm.runs r
     set status = p_status, finished_at = now(), updated_at = now(), lease_expires_at = null,
         summary = p_summary, result = p_result, error = p_error
   where r.id = p_run_id and r.agent_id = p_agent_id and r.status in ('claimed', 'running')
  returning r.task_id into v_task;
  if not found then
    return false;
  end if;
  update ccm.run_steps s set status = 'interrupted', finished_at = now()
   where s.run_id = p_run_id and s.status = 'started';
  update ccm.tasks t set status = p_status, summary = p_summary, updated_at = now() where t.id = v_task;
  return true;
end
$$;

-- A run whose work can no longer be trusted to be in progress (lease lost, agent handing back).
-- Not started: back to queued. Started and idempotent: expired, and a fresh attempt is queued.
-- Started and not idempotent: unknown, for a human. Never silently run twice.
create function ccm.requeue_or_mark_unknown(p_run_id uuid, p_reason text, p_max_attempts integer default 3)
returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_run ccm.runs%rowtype;
begin
  select * into v_run from ccm.runs r where r.id = p_run_id for update;
  if not found or v_run.status not in ('claimed', 'running') then
    return 'ignored';
  end if;
  if v_run.status = 'claimed' then
    update ccm.runs r set status = 'queued', claimed_at = null, lease_expires_at = null, updated_at = now()
     where r.id = p_run_id;
    return 'requeued';
  end if;
  update ccm.run_steps s set status = 'interrupted', finished_at = now()
   where s.run_id = p_run_id and s.status = 'started';
  if coalesce(v_run.idempotent, false) and v_run.attempt < p_max_attempts then
    update ccm.runs r
       set status = 'expired', finished_at = now(), updated_at = now(), lease_expires_at = null,
           error = p_reason, summary = p_reason || '; re-queued as attempt ' || (v_run.attempt + 1)
     where r.id = p_run_id;
    insert into ccm.runs (task_id, agent_id, attempt) values (v_run.task_id, v_run.agent_id, v_run.attempt + 1);
    update ccm.tasks t set status = 'queued', updated_at = now() where t.id = v_run.task_id;
    return 'requeued';
  end if;
  update ccm.runs r
     set status = 'unknown', finished_at = now(), updated_at = now(), lease_expires_at = null, error = p_reason,
         summary = p_reason || case when coalesce(v_run.idempotent, false)
                                    then '; gave up after ' || v_run.attempt || ' attempts'
                                    else '; playbook ' || coalesce(v_run.playbook, '?')
                                         || ' is not idempotent, so it is not re-run: a human must check the host' end
   where r.id = p_run_id;
  update ccm.tasks t set status = 'unknown', summary = p_reason || ' (needs a human)', updated_at = now()
   where t.id = v_run.task_id;
  return 'unknown';
end
$$;

-- The agent gives a run back (shutdown before it could finish).
create function ccm.release_run(p_run_id uuid, p_agent_id uuid, p_reason text default 'agent shut down')
returns text
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform 1 from ccm.runs r where r.id = p_run_id and r.agent_id = p_agent_id;
  if not found then
    return 'ignored';
  end if;
  return ccm.requeue_or_mark_unknown(p_run_id, p_reason);
end
$$;

-- Sweep runs whose lease ran out (the agent died or lost the database). Safe to call from
-- many hub replicas at once.
create function ccm.recover_expired_leases(p_max_attempts integer default 3)
returns table (run_id uuid, outcome text)
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_id uuid;
begin
  for v_id in
    select r.id from ccm.runs r
     where r.status in ('claimed', 'running') and r.lease_expires_at < now()
     order by r.lease_expires_at
     for update skip locked
  loop
    run_id := v_id;
    outcome := ccm.requeue_or_mark_unknown(v_id, 'lease expired: agent stopped reporting', p_max_attempts);
    return next;
  end loop;
end
$$;

-- Nothing here is callable by PUBLIC; the security issue grants per role.
revoke all on all functions in schema ccm from public;
revoke all on all tables in schema ccm from public;
revoke all on schema ccm from public;
