-- The rollout controller: waves released by the database, never by agent goodwill.
-- ccm.advance_broadcast(id) is called by the hub every second (ccm.advance_broadcasts), by a trigger
-- whenever a host of a broadcast reaches a final state, and after each operator action. It takes the
-- broadcast's row lock, so it serialises with pause/cancel: once a stop is committed, no wave is released.

-- Per-host state of a broadcast's task. Final: everything but held / queued / running / awaiting_approval.
create function ccm.broadcast_task_final(p_status text)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select p_status not in ('held', 'queued', 'running', 'awaiting_approval')
$$;

-- States that count against max_failures (offline, skipped and cancelled do not).
create function ccm.broadcast_task_failed(p_status text)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select p_status in ('failed', 'escalated', 'unknown', 'timeout')
$$;

-- "49/50 succeeded; web-17 failed: E: Unable to locate package x (exit 100)". Failures first (up to 5
-- named), then offline, skipped and cancelled counts, then why it stopped.
create function ccm.broadcast_summary(p_id uuid)
returns text
language plpgsql
stable
set search_path = ''
as $$
declare
  v_b ccm.broadcasts%rowtype;
  v_ok integer;
  v_failed integer;
  v_offline integer;
  v_skipped integer;
  v_cancelled integer;
  v_hosts text;
  v_parts text[] := '{}';
  v_line text;
begin
  select * into v_b from ccm.broadcasts b where b.id = p_id;
  if not found then
    return null;
  end if;
  select count(*) filter (where t.status = 'succeeded'),
         count(*) filter (where ccm.broadcast_task_failed(t.status)),
         count(*) filter (where t.status = 'offline'),
         count(*) filter (where t.status = 'skipped'),
         count(*) filter (where t.status = 'cancelled')
    into v_ok, v_failed, v_offline, v_skipped, v_cancelled
    from ccm.tasks t where t.broadcast_id = p_id;

  v_parts := v_parts || (case when v_b.dry_run then 'dry run: ' else '' end || v_ok || '/' || v_b.targeted || ' succeeded');
  for v_line in
    select t.host || case t.status when 'timeout' then ' timed out' when 'unknown' then ' unknown' else ' failed' end
           || ': ' || left(coalesce(nullif(r.result ->> 'error_line', ''), nullif(r.summary, ''), nullif(r.error, ''), t.summary, t.status), 300)
           || coalesce(' (exit ' || (r.result ->> 'exit_code') || ')', '')
      from ccm.tasks t
      left join lateral (select x.* from ccm.runs x where x.task_id = t.id order by x.created_at desc limit 1) r on true
     where t.broadcast_id = p_id and ccm.broadcast_task_failed(t.status)
     order by t.broadcast_position nulls last, lower(t.host)
     limit 5
  loop
    v_parts := v_parts || v_line;
  end loop;
  if v_failed > 5 then
    v_parts := v_parts || ('and ' || (v_failed - 5) || ' more failed');
  end if;
  if v_offline > 0 then
    select string_agg(x.host, ', ') into v_hosts
      from (select t.host from ccm.tasks t where t.broadcast_id = p_id and t.status = 'offline' order by lower(t.host) limit 5) x;
    v_parts := v_parts || (v_offline || ' offline (' || v_hosts || case when v_offline > 5 then ', …' else '' end || ')');
  end if;
  if v_skipped > 0 then
    v_parts := v_parts || (v_skipped || ' skipped');
  end if;
  if v_cancelled > 0 then
    v_parts := v_parts || (v_cancelled || ' cancelled');
  end if;
  if v_b.stop_reason is not null then
    v_parts := v_parts || (case when v_b.status = 'cancelled' then '' else 'stopped: ' end || v_b.stop_reason);
  end if;
  return array_to_string(v_parts, '; ');
end
$$;

-- Stop releasing: every held run (and every released run no agent has claimed yet) becomes `skipped`
-- or `cancelled` with the reason. Runs already claimed finish and are reported.
create function ccm.broadcast_drain(p_id uuid, p_status text, p_reason text)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_n integer;
begin
  with picked as (
    select r.id, r.task_id from ccm.runs r join ccm.tasks t on t.id = r.task_id
     where t.broadcast_id = p_id and r.status in ('held', 'queued')
     for update of r skip locked
  ), upd as (
    update ccm.runs r set status = p_status, summary = p_reason, finished_at = now(), updated_at = now()
      from picked where r.id = picked.id
    returning r.task_id
  )
  update ccm.tasks t set status = p_status, summary = p_reason, updated_at = now()
    from upd where t.id = upd.task_id;
  get diagnostics v_n = row_count;
  return v_n;
end
$$;

-- One step of the rollout. Returns the broadcast's status after the step (null: no such broadcast).
create function ccm.advance_broadcast(p_id uuid)
returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_b ccm.broadcasts%rowtype;
  v_failures integer;
  v_allowed integer;
  v_canary_failed boolean;
  v_wave integer;
  v_inflight integer;
  v_slots integer;
  v_left integer;
begin
  select * into v_b from ccm.broadcasts b where b.id = p_id for update;
  if not found then
    return null;
  end if;
  if v_b.finished_at is not null then
    return v_b.status;
  end if;
  -- The run-finished trigger must not re-enter while we change runs ourselves.
  perform set_config('ccm.advancing_broadcast', 'on', true);

  -- Claimed long ago and still no result: timeout (the agent's next lease renewal tells it to stop).
  with picked as (
    select r.id from ccm.runs r join ccm.tasks t on t.id = r.task_id
     where t.broadcast_id = p_id and r.status in ('claimed', 'running')
       and r.claimed_at < now() - make_interval(secs => v_b.run_timeout_s)
     for update of r skip locked
  ), upd as (
    update ccm.runs r
       set status = 'timeout', finished_at = now(), updated_at = now(), lease_expires_at = null,
           summary = 'no result within ' || v_b.run_timeout_s || ' s', error = 'timeout'
      from picked where r.id = picked.id
    returning r.task_id
  )
  update ccm.tasks t set status = 'timeout', summary = 'no result within ' || v_b.run_timeout_s || ' s', updated_at = now()
    from upd where t.id = upd.task_id;

  -- Released and never claimed within the TTL: the agent is offline. Not a failure, not dropped.
  with picked as (
    select r.id from ccm.runs r join ccm.tasks t on t.id = r.task_id
     where t.broadcast_id = p_id and r.status = 'queued'
       and t.released_at < now() - make_interval(secs => v_b.offline_ttl_s)
     for update of r skip locked
  ), upd as (
    update ccm.runs r
       set status = 'offline', finished_at = now(), updated_at = now(),
           summary = 'agent did not claim the run within ' || v_b.offline_ttl_s || ' s'
      from picked where r.id = picked.id
    returning r.task_id
  )
  update ccm.tasks t set status = 'offline', summary = 'agent offline: did not claim within ' || v_b.offline_ttl_s || ' s', updated_at = now()
    from upd where t.id = upd.task_id;

  if v_b.status = 'running' then
    select count(*) filter (where ccm.broadcast_task_failed(t.status)),
           coalesce(bool_or(t.broadcast_wave = 0 and ccm.broadcast_task_failed(t.status)), false)
      into v_failures, v_canary_failed
      from ccm.tasks t where t.broadcast_id = p_id;
    v_allowed := case when right(v_b.max_failures, 1) = '%'
                      then floor(v_b.targeted * left(v_b.max_failures, -1)::numeric / 100)::integer
                      else floor(v_b.max_failures::numeric)::integer end;
    if v_canary_failed or v_failures > v_allowed then
      v_b.status := 'stopped';
      v_b.stop_reason := case when v_canary_failed then 'canary failed'
                              else v_failures || case when v_failures = 1 then ' failure exceeds' else ' failures exceed' end
                                   || ' max_failures ' || v_b.max_failures
                                   || ' (' || v_allowed || ' of ' || v_b.targeted || ')' end;
      update ccm.broadcasts b set status = v_b.status, stop_reason = v_b.stop_reason, updated_at = now() where b.id = p_id;
      perform ccm.broadcast_drain(p_id, 'skipped', 'skipped: broadcast stopped (' || v_b.stop_reason || ')');
    end if;
  end if;

  if v_b.status = 'running' then
    -- The current wave: the lowest one with unfinished runs; earlier waves are all final by definition.
    select min(t.broadcast_wave) into v_wave
      from ccm.tasks t where t.broadcast_id = p_id and not ccm.broadcast_task_final(t.status);
    if v_wave is not null then
      select count(*) into v_inflight
        from ccm.tasks t
       where t.broadcast_id = p_id and t.broadcast_wave = v_wave and t.status in ('queued', 'running', 'awaiting_approval');
      v_slots := coalesce(v_b.max_concurrency, 2147483647) - v_inflight;
      if v_slots > 0 then
        with picked as (
          select t.id from ccm.tasks t
           where t.broadcast_id = p_id and t.broadcast_wave = v_wave and t.status = 'held'
           order by t.broadcast_position
           limit v_slots
           for update of t
        ), rel as (
          update ccm.tasks t set status = 'queued', released_at = now(), updated_at = now()
            from picked where t.id = picked.id
          returning t.id
        )
        -- held -> queued fires the NOTIFY / Realtime wake-up of the agent.
        update ccm.runs r set status = 'queued', updated_at = now()
          from rel where r.task_id = rel.id and r.status = 'held';
      end if;
    end if;
  end if;

  -- Finished when every host is final: summary on the row and to Slack through the outbox, same transaction.
  select count(*) into v_left from ccm.tasks t where t.broadcast_id = p_id and not ccm.broadcast_task_final(t.status);
  if v_left = 0 then
    update ccm.broadcasts b
       set status = case when b.status in ('running', 'paused') then 'completed' else b.status end,
           finished_at = now(), updated_at = now()
     where b.id = p_id
    returning * into v_b;
    update ccm.broadcasts b set summary = ccm.broadcast_summary(p_id) where b.id = p_id returning * into v_b;
    perform ccm.enqueue_notification(
      'slack', 'broadcast_done', 'slack:broadcast:' || p_id, null, null, null,
      jsonb_build_object('title', 'Broadcast ' || v_b.playbook || ' ' || v_b.status, 'text', v_b.summary,
                         'broadcast_id', p_id, 'status', v_b.status));
  end if;
  perform set_config('ccm.advancing_broadcast', 'off', true);
  return v_b.status;
end
$$;

-- Every unfinished broadcast, one step each; broadcasts another replica is advancing are skipped.
create function ccm.advance_broadcasts()
returns table (broadcast_id uuid, status text)
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_id uuid;
begin
  for v_id in
    select b.id from ccm.broadcasts b where b.finished_at is null order by b.created_at
     for update skip locked
  loop
    broadcast_id := v_id;
    status := ccm.advance_broadcast(v_id);
    return next;
  end loop;
end
$$;

-- A host of a broadcast reached a final state (tasks mirror their run last, after the run row, so the
-- trigger is on tasks): advance at once, unless the hub holds the row right now; then its next tick,
-- within a second, does it. Never blocks or fails the agent's finish.
create function ccm.on_broadcast_task_final()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if new.broadcast_id is null or not ccm.broadcast_task_final(new.status)
     or new.status is not distinct from old.status
     or current_setting('ccm.advancing_broadcast', true) = 'on' then
    return null;
  end if;
  perform 1 from ccm.broadcasts b where b.id = new.broadcast_id and b.finished_at is null for update skip locked;
  if found then
    perform ccm.advance_broadcast(new.broadcast_id);
  end if;
  return null;
end
$$;

create trigger tasks_advance_broadcast
  after update of status on ccm.tasks
  for each row execute function ccm.on_broadcast_task_final();

-- ---------------------------------------------------------------------------------------------
-- Operator actions. Each takes the row lock, so it serialises with advance_broadcast.

-- Pause: no new run is released; released runs no agent has claimed yet are held again.
create function ccm.pause_broadcast(p_id uuid, p_by text, p_reason text default null)
returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_status text;
begin
  select b.status into v_status from ccm.broadcasts b where b.id = p_id and b.finished_at is null for update;
  if not found then
    raise exception using errcode = 'P0002', message = 'no unfinished broadcast ' || p_id;
  end if;
  if v_status <> 'running' then
    raise exception using errcode = '55000', message = 'broadcast ' || p_id || ' is ' || v_status || ', not running';
  end if;
  perform set_config('ccm.advancing_broadcast', 'on', true);
  with picked as (
    select r.id, r.task_id from ccm.runs r join ccm.tasks t on t.id = r.task_id
     where t.broadcast_id = p_id and r.status = 'queued'
     for update of r skip locked
  ), upd as (
    update ccm.runs r set status = 'held', updated_at = now() from picked where r.id = picked.id returning r.task_id
  )
  update ccm.tasks t set status = 'held', released_at = null, updated_at = now() from upd where t.id = upd.task_id;
  perform set_config('ccm.advancing_broadcast', 'off', true);
  update ccm.broadcasts b
     set status = 'paused', stop_reason = 'paused by ' || coalesce(nullif(trim(p_by), ''), current_user)
                                          || coalesce(': ' || nullif(trim(p_reason), ''), ''),
         updated_at = now()
   where b.id = p_id;
  return 'paused';
end
$$;

create function ccm.resume_broadcast(p_id uuid, p_by text)
returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_status text;
begin
  select b.status into v_status from ccm.broadcasts b where b.id = p_id and b.finished_at is null for update;
  if not found then
    raise exception using errcode = 'P0002', message = 'no unfinished broadcast ' || p_id;
  end if;
  if v_status <> 'paused' then
    raise exception using errcode = '55000', message = 'broadcast ' || p_id || ' is ' || v_status || ', not paused';
  end if;
  update ccm.broadcasts b set status = 'running', stop_reason = null, updated_at = now() where b.id = p_id;
  return ccm.advance_broadcast(p_id);
end
$$;

-- Cancel: nothing more is released; held and unclaimed runs are cancelled. Runs already claimed on a
-- host finish (interrupting a package install half-way is worse) and are reported.
create function ccm.cancel_broadcast(p_id uuid, p_by text, p_reason text default null)
returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_reason text := 'cancelled by ' || coalesce(nullif(trim(p_by), ''), current_user)
                   || coalesce(': ' || nullif(trim(p_reason), ''), '');
begin
  perform 1 from ccm.broadcasts b where b.id = p_id and b.finished_at is null for update;
  if not found then
    raise exception using errcode = 'P0002', message = 'no unfinished broadcast ' || p_id;
  end if;
  update ccm.broadcasts b set status = 'cancelled', stop_reason = v_reason, updated_at = now() where b.id = p_id;
  perform set_config('ccm.advancing_broadcast', 'on', true);
  perform ccm.broadcast_drain(p_id, 'cancelled', v_reason);
  return ccm.advance_broadcast(p_id);
end
$$;

-- Live progress: counts per host state, for `ccm broadcast show` and the API.
create function ccm.broadcast_progress(p_id uuid)
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select jsonb_build_object(
           'targeted', b.targeted,
           'states', coalesce((select jsonb_object_agg(s.status, s.n)
                                 from (select t.status, count(*) as n from ccm.tasks t
                                        where t.broadcast_id = b.id group by t.status) s), '{}'::jsonb),
           'current_wave', (select min(t.broadcast_wave) from ccm.tasks t
                             where t.broadcast_id = b.id and not ccm.broadcast_task_final(t.status)))
    from ccm.broadcasts b where b.id = p_id
$$;

revoke all on function
  ccm.broadcast_task_final(text),
  ccm.broadcast_task_failed(text),
  ccm.broadcast_summary(uuid),
  ccm.broadcast_drain(uuid, text, text),
  ccm.advance_broadcast(uuid),
  ccm.advance_broadcasts(),
  ccm.on_broadcast_task_final(),
  ccm.pause_broadcast(uuid, text, text),
  ccm.resume_broadcast(uuid, text),
  ccm.cancel_broadcast(uuid, text, text),
  ccm.broadcast_progress(uuid)
from public;

-- The hub (service_role on Supabase) drives the rollout and the operator actions.
do $$
begin
  if exists (select 1 from pg_roles where rolname = 'service_role') then
    grant execute on function ccm.advance_broadcast(uuid) to service_role;
    grant execute on function ccm.advance_broadcasts() to service_role;
    grant execute on function ccm.pause_broadcast(uuid, text, text) to service_role;
    grant execute on function ccm.resume_broadcast(uuid, text) to service_role;
    grant execute on function ccm.cancel_broadcast(uuid, text, text) to service_role;
    grant execute on function ccm.broadcast_progress(uuid) to service_role;
    grant execute on function ccm.broadcast_summary(uuid) to service_role;
    grant insert on ccm.broadcasts to service_role;
  end if;
end
$$;
