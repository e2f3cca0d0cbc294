-- The operator's reads and actions (CLI and hub API) as ccm.op_* functions, so they run over
-- PostgREST (the service-role key, or an operator's session listed in ccm.operators) exactly as
-- over a direct connection: one function call each, no table access from TypeScript.
-- Every function checks ccm.assert_operator() first; EXECUTE goes to authenticated and
-- service_role only (granted at the end).

-- ---------------------------------------------------------------------------------------------
-- Tasks

create function ccm.op_list_tasks(p_status text default null, p_host text default null, p_limit integer default 50)
returns table (
  id uuid, status text, host text, source text, alertname text, summary text, alert_count integer,
  created_at timestamptz, updated_at timestamptz, resolved_at timestamptz
)
language plpgsql
stable
security definer
set search_path = ''
as $$
#variable_conflict use_column
begin
  perform ccm.assert_operator();
  if p_limit is null or p_limit not between 1 and 10000 then
    raise exception using errcode = '22023', message = 'limit must be 1..10000';
  end if;
  return query
  select t.id, t.status, t.host, t.source, t.alertname, t.summary, t.alert_count, t.created_at, t.updated_at, t.resolved_at
    from ccm.tasks t
   where (p_status is null or t.status = p_status)
     and (p_host is null or lower(t.host) = lower(p_host))
   order by t.created_at desc
   limit p_limit;
end
$$;

-- One task by id or unique id prefix, with its runs and their steps:
-- {matches: 0 | 1 | 2, task: {…, runs: [{…, steps: [...]}]} | null} (2 means "2 or more": ambiguous).
create function ccm.op_task_detail(p_id text)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_ids uuid[];
  v_task jsonb;
begin
  perform ccm.assert_operator();
  if p_id is null or p_id !~* '^[0-9a-f-]{4,36}$' then
    return jsonb_build_object('matches', 0, 'task', null);
  end if;
  select array(select t.id from ccm.tasks t where t.id::text like lower(p_id) || '%' order by t.created_at desc limit 2) into v_ids;
  if cardinality(v_ids) <> 1 then
    return jsonb_build_object('matches', cardinality(v_ids), 'task', null);
  end if;
  select jsonb_build_object(
           'id', t.id, 'status', t.status, 'host', t.host, 'source', t.source, 'alertname', t.alertname,
           'summary', t.summary, 'alert_count', t.alert_count, 'created_at', t.created_at, 'updated_at', t.updated_at,
           'resolved_at', t.resolved_at, 'labels', t.labels, 'annotations', t.annotations,
           'fingerprint', t.fingerprint, 'starts_at', t.starts_at,
           'runs', coalesce((
             select jsonb_agg(jsonb_build_object(
                      'id', r.id, 'task_id', r.task_id, 'status', r.status, 'agent_host', a.host, 'attempt', r.attempt,
                      'playbook', r.playbook, 'dry_run', r.dry_run, 'summary', r.summary, 'error', r.error,
                      'result', r.result, 'claimed_at', r.claimed_at, 'started_at', r.started_at, 'finished_at', r.finished_at,
                      'steps', coalesce((
                        select jsonb_agg(jsonb_build_object(
                                 'run_id', s.run_id, 'seq', s.seq, 'phase', s.phase, 'action', s.action, 'args', s.args,
                                 'status', s.status, 'detail', s.detail, 'data', s.data, 'exit_code', s.exit_code,
                                 'duration_ms', s.duration_ms, 'started_at', s.started_at, 'finished_at', s.finished_at)
                               order by s.seq)
                          from ccm.run_steps s where s.run_id = r.id), '[]'::jsonb))
                    order by r.created_at)
               from ccm.runs r join ccm.agents a on a.id = r.agent_id
              where r.task_id = t.id), '[]'::jsonb))
    into v_task
    from ccm.tasks t where t.id = v_ids[1];
  return jsonb_build_object('matches', 1, 'task', v_task);
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Alerts

create function ccm.op_list_alerts(
  p_source text default null, p_host text default null, p_status text default null, p_limit integer default 50
)
returns table (
  id bigint, received_at timestamptz, source text, status text, host text, alertname text, outcome text,
  receive_count integer, raw_truncated boolean, task_id uuid, task_status text
)
language plpgsql
stable
security definer
set search_path = ''
as $$
#variable_conflict use_column
begin
  perform ccm.assert_operator();
  if p_limit is null or p_limit not between 1 and 10000 then
    raise exception using errcode = '22023', message = 'limit must be 1..10000';
  end if;
  return query
  select a.id, a.received_at, a.source, a.status, a.host, a.alertname, a.outcome, a.receive_count,
         a.raw_truncated, a.task_id, t.status
    from ccm.alerts a left join ccm.tasks t on t.id = a.task_id
   where (p_source is null or a.source = p_source)
     and (p_host is null or lower(a.host) = lower(p_host))
     and (p_status is null or a.status = p_status)
   order by a.id desc
   limit p_limit;
end
$$;

-- One received alert with its raw payload and the task (and incident) it became; no row when unknown.
create function ccm.op_alert_detail(p_id bigint)
returns table (
  id bigint, received_at timestamptz, source text, status text, host text, alertname text, outcome text,
  receive_count integer, raw_truncated boolean, task_id uuid, task_status text, fingerprint text,
  labels jsonb, annotations jsonb, starts_at timestamptz, ends_at timestamptz, last_received_at timestamptz,
  generator_url text, group_key text, condition_key text, raw jsonb, task_summary text, task_alert_count integer,
  task_flapping boolean, incident_id uuid, incident_status text, incident_host_count integer
)
language plpgsql
stable
security definer
set search_path = ''
as $$
#variable_conflict use_column
begin
  perform ccm.assert_operator();
  return query
  select a.id, a.received_at, a.source, a.status, a.host, a.alertname, a.outcome, a.receive_count,
         a.raw_truncated, a.task_id, t.status, a.fingerprint, a.labels, a.annotations,
         a.starts_at, a.ends_at, a.last_received_at, a.generator_url, a.group_key, a.condition_key, a.raw,
         t.summary, t.alert_count, t.flapping, i.id, i.status, i.host_count
    from ccm.alerts a
    left join ccm.tasks t on t.id = a.task_id
    left join ccm.incidents i on i.id = t.incident_id
   where a.id = p_id;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Approvals and the fleet-wide pause

-- The runs whose id starts with p_prefix, at most two (two means ambiguous).
create function ccm.op_resolve_run_id(p_prefix text)
returns uuid[]
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform ccm.assert_operator();
  if p_prefix is null or p_prefix !~* '^[0-9a-f-]{4,36}$' then
    return '{}';
  end if;
  return array(select r.id from ccm.runs r where r.id::text like lower(p_prefix) || '%' limit 2);
end
$$;

create function ccm.op_decide_approval(p_run_id uuid, p_decision text, p_decided_by text, p_reason text default null)
returns table (outcome text, decision text, decided_by text, decided_at timestamptz, continuation_run_id uuid)
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
begin
  perform ccm.assert_operator();
  return query select * from ccm.decide_approval(p_run_id, p_decision, p_decided_by, p_reason);
end
$$;

create function ccm.op_fleet_pause()
returns table (paused boolean, changed_by text, reason text, changed_at timestamptz)
language plpgsql
stable
security definer
set search_path = ''
as $$
#variable_conflict use_column
begin
  perform ccm.assert_operator();
  return query select c.paused, c.changed_by, c.reason, c.changed_at from ccm.fleet_controls c where c.id;
end
$$;

create function ccm.op_set_fleet_pause(p_paused boolean, p_changed_by text, p_reason text default null)
returns table (paused boolean, changed_by text, reason text, changed_at timestamptz)
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
begin
  perform ccm.assert_operator();
  return query select * from ccm.set_fleet_pause(p_paused, p_changed_by, p_reason);
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Broadcasts. Creation stays the INSERT into ccm.broadcasts: its triggers validate, fan out and
-- release the first wave (20261123184000), so Studio, the API and the CLI create them alike.

create function ccm.op_create_broadcast(
  p_playbook text,
  p_selector jsonb,
  p_created_by text,
  p_params jsonb default '{}'::jsonb,
  p_canary integer default 1,
  p_batch text default '10%',
  p_max_failures text default '0',
  p_max_concurrency integer default null,
  p_dry_run boolean default false,
  p_offline_ttl_s integer default 600,
  p_run_timeout_s integer default 1800
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_id uuid;
begin
  perform ccm.assert_operator();
  insert into ccm.broadcasts (playbook, params, selector, canary, batch, max_failures, max_concurrency, dry_run,
                              offline_ttl_s, run_timeout_s, created_by)
  values (p_playbook, p_params, p_selector, p_canary, p_batch, p_max_failures, p_max_concurrency, p_dry_run,
          p_offline_ttl_s, p_run_timeout_s, p_created_by)
  returning id into v_id;
  -- Re-read: the expansion trigger filled targeted and batch_size after the INSERT.
  return (select to_jsonb(b) from ccm.broadcasts b where b.id = v_id);
end
$$;

create function ccm.op_list_broadcasts(p_limit integer default 20)
returns setof ccm.broadcasts
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform ccm.assert_operator();
  if p_limit is null or p_limit not between 1 and 10000 then
    raise exception using errcode = '22023', message = 'limit must be 1..10000';
  end if;
  return query select * from ccm.broadcasts b order by b.created_at desc limit p_limit;
end
$$;

-- The broadcasts whose id starts with p_prefix, at most two (two means ambiguous).
create function ccm.op_resolve_broadcast_id(p_prefix text)
returns uuid[]
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform ccm.assert_operator();
  if p_prefix is null or p_prefix !~* '^[0-9a-f-]{4,36}$' then
    return '{}';
  end if;
  return array(select b.id from ccm.broadcasts b where b.id::text like lower(p_prefix) || '%' limit 2);
end
$$;

-- {matches: 0 | 1 | 2, broadcast: {row…, states, current_wave, hosts: [...]} | null}; per host the
-- task's state and its latest run's result (exit code and error line from the playbook).
create function ccm.op_broadcast_detail(p_id text)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_ids uuid[];
  v_progress jsonb;
begin
  perform ccm.assert_operator();
  v_ids := ccm.op_resolve_broadcast_id(p_id);
  if cardinality(v_ids) <> 1 then
    return jsonb_build_object('matches', cardinality(v_ids), 'broadcast', null);
  end if;
  v_progress := ccm.broadcast_progress(v_ids[1]);
  return jsonb_build_object('matches', 1, 'broadcast', (
    select to_jsonb(b) || jsonb_build_object(
             'states', v_progress -> 'states',
             'current_wave', v_progress -> 'current_wave',
             'hosts', coalesce((
               select jsonb_agg(jsonb_build_object(
                        'host', t.host, 'state', t.status, 'wave', t.broadcast_wave, 'position', t.broadcast_position,
                        'released_at', t.released_at, 'run_id', r.id, 'summary', coalesce(r.summary, t.summary),
                        'exit_code', r.result ->> 'exit_code', 'error_line', nullif(r.result ->> 'error_line', ''))
                      order by t.broadcast_position nulls last, lower(t.host))
                 from ccm.tasks t
                 left join lateral (select x.* from ccm.runs x where x.task_id = t.id order by x.created_at desc limit 1) r on true
                where t.broadcast_id = b.id), '[]'::jsonb))
      from ccm.broadcasts b where b.id = v_ids[1]));
end
$$;

-- pause | resume | cancel by id or unique prefix; the broadcast's status afterwards.
-- P0002 for no (or several) matches, 55000 when the action does not fit its state.
create function ccm.op_control_broadcast(p_id text, p_action text, p_by text, p_reason text default null)
returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_ids uuid[];
begin
  perform ccm.assert_operator();
  if p_action is null or p_action not in ('pause', 'resume', 'cancel') then
    raise exception using errcode = '22023', message = 'action must be pause, resume or cancel';
  end if;
  if p_id is null or p_id !~* '^[0-9a-f-]{4,36}$' then
    raise exception using errcode = 'P0002', message = 'not a broadcast id: ' || coalesce(left(p_id, 60), 'null');
  end if;
  v_ids := ccm.op_resolve_broadcast_id(p_id);
  if cardinality(v_ids) = 0 then
    raise exception using errcode = 'P0002', message = 'no broadcast ' || p_id;
  elsif cardinality(v_ids) > 1 then
    raise exception using errcode = 'P0002', message = p_id || ' matches several broadcasts; give more of the id';
  end if;
  return case p_action
           when 'pause' then ccm.pause_broadcast(v_ids[1], p_by, p_reason)
           when 'resume' then ccm.resume_broadcast(v_ids[1], p_by)
           else ccm.cancel_broadcast(v_ids[1], p_by, p_reason)
         end;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Signed ad-hoc command broadcasts in two calls, with no transaction held open across them:
--   1. ccm.op_command_targets(selector): the agents a broadcast with this selector would target
--      now, and which of them offer `command` (the others are skipped, unsigned).
--   2. The CLI picks each offering host's task id (a uuid) itself and signs (task id, argv, host,
--      expiry) with the operator's key; ccm.op_create_command_broadcast then inserts the broadcast
--      with those tasks, atomically, and refuses (40001) when the selector no longer matches
--      exactly the signed hosts, so nothing is ever released unsigned or signed for another host.
-- The database holds no key and checks no signature: agents do (packages/security).

create function ccm.op_command_targets(p_selector jsonb)
returns table (agent_id uuid, host text, offers boolean)
language plpgsql
stable
security definer
set search_path = ''
as $$
#variable_conflict use_column
begin
  perform ccm.assert_operator();
  if p_selector is null or jsonb_typeof(p_selector) <> 'object' then
    raise exception using errcode = '22023', message = 'selector must be a JSON object, e.g. {"labels": {"role": "web"}} or {"all": true}';
  end if;
  -- The same match as ccm.expand_broadcast.
  return query
  select a.id, a.host, 'command' = any (a.playbooks)
    from ccm.agents a
   where ccm.selector_matches(p_selector, a.host, a.aliases, a.labels) and a.token_revoked_at is null
   order by lower(a.host);
end
$$;

-- Pre-signed tasks of the command broadcast being created in this transaction. Rows live only
-- inside ccm.op_create_command_broadcast's transaction (deleted before it returns), so no other
-- transaction ever sees one.
create table ccm.signed_command_staging (
  broadcast_id uuid not null,
  agent_id     uuid not null,
  host         text not null,
  task_id      uuid not null,
  command      jsonb not null
);
create index signed_command_staging_idx on ccm.signed_command_staging (broadcast_id, agent_id);
alter table ccm.signed_command_staging enable row level security;
revoke all on ccm.signed_command_staging from public;

-- BEFORE INSERT of a command broadcast's task (ccm.expand_broadcast): take the id the operator
-- signed for this agent and the signed command, so the task is signed from its first moment.
create function ccm.attach_signed_command()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_task uuid;
  v_command jsonb;
begin
  select s.task_id, s.command into v_task, v_command
    from ccm.signed_command_staging s
   where s.broadcast_id = new.broadcast_id and s.agent_id = new.agent_id
   limit 1;
  if found and new.status <> 'skipped' then
    new.id := v_task;
    new.command := v_command;
  end if;
  return new;
end
$$;

create trigger tasks_attach_signed_command
  before insert on ccm.tasks
  for each row
  when (new.broadcast_id is not null and new.alertname = 'broadcast:command')
  execute function ccm.attach_signed_command();

-- p_command: {argv, expires_at, key_id} (what the operator asked for, stored unsigned for display).
-- p_tasks: [{agent_id, host, task_id, command: {taskId, argv, target, expiresAt, nonce, keyId, signature}}],
-- one per offering host of ccm.op_command_targets. Returns the broadcast row plus `signed`.
create function ccm.op_create_command_broadcast(
  p_selector jsonb,
  p_created_by text,
  p_command jsonb,
  p_tasks jsonb,
  p_canary integer default 1,
  p_batch text default '10%',
  p_max_failures text default '0',
  p_max_concurrency integer default null,
  p_dry_run boolean default false,
  p_offline_ttl_s integer default 600,
  p_run_timeout_s integer default 1800
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_id uuid := gen_random_uuid();
  v_bad text;
  v_missing text;
  v_extra text;
  v_signed integer;
begin
  perform ccm.assert_operator();
  if p_command is null or jsonb_typeof(p_command) <> 'object' or jsonb_typeof(p_command -> 'argv') is distinct from 'array' then
    raise exception using errcode = '22023', message = 'command must be {argv, expires_at, key_id}';
  end if;
  if p_tasks is null or jsonb_typeof(p_tasks) <> 'array' then
    raise exception using errcode = '22023', message = 'tasks must be an array of signed tasks';
  end if;
  -- Each signed command must be for its own task id and host, with the broadcast's argv and key.
  select coalesce(e ->> 'host', '(no host)') into v_bad
    from jsonb_array_elements(p_tasks) e
   where jsonb_typeof(e) <> 'object'
      or (e ->> 'task_id') !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
      or (e ->> 'agent_id') !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
      or jsonb_typeof(e -> 'command') is distinct from 'object'
      or (e -> 'command' ->> 'taskId') is distinct from lower(e ->> 'task_id')
      or (e -> 'command' ->> 'target') is distinct from (e ->> 'host')
      or (e -> 'command' -> 'argv') is distinct from (p_command -> 'argv')
      or (e -> 'command' ->> 'keyId') is distinct from (p_command ->> 'key_id')
      or coalesce(length(e -> 'command' ->> 'signature'), 0) = 0
   limit 1;
  if v_bad is not null then
    raise exception using errcode = '22023',
      message = 'signed task for ' || v_bad || ' does not match: each command must be signed for its own task id and host, with the broadcast''s argv and key';
  end if;
  if (select count(distinct e ->> 'agent_id') <> count(*) or count(distinct lower(e ->> 'task_id')) <> count(*)
        from jsonb_array_elements(p_tasks) e) then
    raise exception using errcode = '22023', message = 'each host and each task id may be signed only once';
  end if;

  insert into ccm.signed_command_staging (broadcast_id, agent_id, host, task_id, command)
  select v_id, (e ->> 'agent_id')::uuid, e ->> 'host', (e ->> 'task_id')::uuid, e -> 'command'
    from jsonb_array_elements(p_tasks) e;

  insert into ccm.broadcasts (id, playbook, params, selector, canary, batch, max_failures, max_concurrency, dry_run,
                              offline_ttl_s, run_timeout_s, created_by, command)
  values (v_id, 'command', '{}'::jsonb, p_selector, p_canary, p_batch, p_max_failures, p_max_concurrency, p_dry_run,
          p_offline_ttl_s, p_run_timeout_s, p_created_by, p_command);

  -- The hosts released unsigned (the selector now matches a host nobody signed for) and the
  -- signatures left over (a signed host no longer matches, or no longer offers `command`).
  select string_agg(t.host, ', ' order by lower(t.host)) into v_missing
    from ccm.tasks t
   where t.broadcast_id = v_id and t.status <> 'skipped'
     and not exists (select 1 from ccm.signed_command_staging s
                      where s.broadcast_id = v_id and s.task_id = t.id and s.host = t.host);
  select string_agg(s.host, ', ' order by lower(s.host)) into v_extra
    from ccm.signed_command_staging s
   where s.broadcast_id = v_id
     and not exists (select 1 from ccm.tasks t
                      where t.broadcast_id = v_id and t.id = s.task_id and t.host = s.host and t.status <> 'skipped');
  if v_missing is not null or v_extra is not null then
    raise exception using errcode = '40001',
      message = 'the hosts matching the selector changed while the command was being signed'
                || coalesce('; now matched, not signed: ' || v_missing, '')
                || coalesce('; signed, no longer targeted: ' || v_extra, '')
                || ' (sign again)';
  end if;
  select count(*) into v_signed from ccm.signed_command_staging s where s.broadcast_id = v_id;
  delete from ccm.signed_command_staging s where s.broadcast_id = v_id;
  return (select to_jsonb(b) || jsonb_build_object('signed', v_signed) from ccm.broadcasts b where b.id = v_id);
end
$$;

-- ---------------------------------------------------------------------------------------------

revoke all on function
  ccm.op_list_tasks(text, text, integer),
  ccm.op_task_detail(text),
  ccm.op_list_alerts(text, text, text, integer),
  ccm.op_alert_detail(bigint),
  ccm.op_resolve_run_id(text),
  ccm.op_decide_approval(uuid, text, text, text),
  ccm.op_fleet_pause(),
  ccm.op_set_fleet_pause(boolean, text, text),
  ccm.op_create_broadcast(text, jsonb, text, jsonb, integer, text, text, integer, boolean, integer, integer),
  ccm.op_list_broadcasts(integer),
  ccm.op_resolve_broadcast_id(text),
  ccm.op_broadcast_detail(text),
  ccm.op_control_broadcast(text, text, text, text),
  ccm.op_command_targets(jsonb),
  ccm.attach_signed_command(),
  ccm.op_create_command_broadcast(jsonb, text, jsonb, jsonb, integer, text, text, integer, boolean, integer, integer)
from public;

do $$
declare
  v_role text;
  v_fn text;
begin
  foreach v_fn in array array[
    'ccm.op_list_tasks(text, text, integer)',
    'ccm.op_task_detail(text)',
    'ccm.op_list_alerts(text, text, text, integer)',
    'ccm.op_alert_detail(bigint)',
    'ccm.op_resolve_run_id(text)',
    'ccm.op_decide_approval(uuid, text, text, text)',
    'ccm.op_fleet_pause()',
    'ccm.op_set_fleet_pause(boolean, text, text)',
    'ccm.op_create_broadcast(text, jsonb, text, jsonb, integer, text, text, integer, boolean, integer, integer)',
    'ccm.op_list_broadcasts(integer)',
    'ccm.op_resolve_broadcast_id(text)',
    'ccm.op_broadcast_detail(text)',
    'ccm.op_control_broadcast(text, text, text, text)',
    'ccm.op_command_targets(jsonb)',
    'ccm.op_create_command_broadcast(jsonb, text, jsonb, jsonb, integer, text, text, integer, boolean, integer, integer)'
  ] loop
    foreach v_role in array array['authenticated', 'service_role'] loop
      if exists (select 1 from pg_roles where rolname = v_role) then
        execute format('grant execute on function %s to %I', v_fn, v_role);
      end if;
    end loop;
  end loop;
end
$$;
