-- Playbook engine transitions: confidence, track record, approvals, and the safety rails
-- (pause switch, maintenance windows, remediation budgets, fleet-wide concurrency).

-- Store the confidence (score, band, factors) and the proposal of a running run.
create function ccm.save_confidence(
  p_run_id uuid, p_agent_id uuid, p_confidence jsonb, p_proposal jsonb default null, p_host_group text default null
)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
begin
  if jsonb_typeof(p_confidence) is distinct from 'object' then
    raise exception using errcode = '22023', message = 'confidence must be a JSON object';
  end if;
  update ccm.runs r
     set confidence = p_confidence, proposal = coalesce(p_proposal, r.proposal),
         host_group = coalesce(p_host_group, r.host_group), updated_at = now()
   where r.id = p_run_id and r.agent_id = p_agent_id and r.status = 'running';
  return found;
end
$$;

-- The track record a confidence score starts from.
create function ccm.track_record(p_playbook text, p_alert_class text, p_host_group text)
returns table (successes integer, failures integer)
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce(max(s.successes), 0)::integer, coalesce(max(s.failures), 0)::integer
    from ccm.playbook_stats s
   where s.playbook = p_playbook and s.alert_class = p_alert_class and s.host_group = p_host_group
$$;

-- A verified outcome of a remediation feeds the track record, at most once per run.
-- Alert class is the task's alertname; host group the one saved with the confidence.
create function ccm.record_outcome(p_run_id uuid, p_agent_id uuid, p_success boolean)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_playbook text;
  v_class text;
  v_group text;
begin
  if p_success is null then
    raise exception using errcode = '22023', message = 'success must be true or false';
  end if;
  update ccm.runs r
     set outcome = case when p_success then 'success' else 'failure' end, updated_at = now()
    from ccm.tasks t
   where r.id = p_run_id and r.agent_id = p_agent_id and t.id = r.task_id
     and r.outcome is null and r.playbook is not null and coalesce(r.dry_run, false) = false
  returning r.playbook, coalesce(t.alertname, '(none)'), coalesce(r.host_group, 'default')
       into v_playbook, v_class, v_group;
  if not found then
    return false;
  end if;
  insert into ccm.playbook_stats as s (playbook, alert_class, host_group, successes, failures,
                                       last_success_at, last_failure_at)
  values (v_playbook, v_class, v_group, case when p_success then 1 else 0 end, case when p_success then 0 else 1 end,
          case when p_success then now() end, case when p_success then null else now() end)
  on conflict (playbook, alert_class, host_group) do update
    set successes = s.successes + excluded.successes,
        failures = s.failures + excluded.failures,
        last_success_at = coalesce(excluded.last_success_at, s.last_success_at),
        last_failure_at = coalesce(excluded.last_failure_at, s.last_failure_at),
        updated_at = now();
  return true;
end
$$;

-- Stop a running run at awaiting_approval with its proposal; an approvals row waits for a decision.
create function ccm.request_approval(
  p_run_id uuid, p_agent_id uuid, p_summary text, p_proposal jsonb, p_result jsonb default null
)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_task uuid;
  v_confidence jsonb;
begin
  if jsonb_typeof(p_proposal) is distinct from 'array' or jsonb_array_length(p_proposal) = 0 then
    raise exception using errcode = '22023', message = 'an approval needs a non-empty proposal array';
  end if;
  update ccm.runs r
     set status = 'awaiting_approval', finished_at = now(), updated_at = now(), lease_expires_at = null,
         summary = p_summary, result = p_result, proposal = p_proposal
   where r.id = p_run_id and r.agent_id = p_agent_id and r.status = 'running'
  returning r.task_id, r.confidence into v_task, v_confidence;
  if not found then
    return false;
  end if;
  update ccm.run_steps s set status = 'interrupted', finished_at = now()
   where s.run_id = p_run_id and s.status = 'started';
  insert into ccm.approvals (run_id, task_id, proposal, confidence) values (p_run_id, v_task, p_proposal, v_confidence);
  update ccm.tasks t set status = 'awaiting_approval', summary = p_summary, updated_at = now() where t.id = v_task;
  return true;
end
$$;

-- Decide an approval. The first decision wins: later calls change nothing and get
-- outcome 'already_decided' with the decision that stands. Approved: a continuation run is queued
-- for the same agent (it resumes at remediation with the approved proposal). Rejected: run and
-- task are cancelled with who decided and why. Reused by the Slack buttons.
create function ccm.decide_approval(p_run_id uuid, p_decision text, p_decided_by text, p_reason text default null)
returns table (outcome text, decision text, decided_by text, decided_at timestamptz, continuation_run_id uuid)
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_appr ccm.approvals%rowtype;
  v_run ccm.runs%rowtype;
  v_new uuid;
  v_summary text;
begin
  if p_decision is null or p_decision not in ('approved', 'rejected') then
    raise exception using errcode = '22023', message = 'decision must be approved or rejected';
  end if;
  if p_decided_by is null or length(trim(p_decided_by)) = 0 then
    raise exception using errcode = '22023', message = 'decided_by must name who decided';
  end if;
  select * into v_appr from ccm.approvals a where a.run_id = p_run_id for update;
  if not found then
    outcome := 'not_found';
    return next;
    return;
  end if;
  if v_appr.decision is not null then
    outcome := 'already_decided'; decision := v_appr.decision; decided_by := v_appr.decided_by;
    decided_at := v_appr.decided_at; continuation_run_id := v_appr.continuation_run_id;
    return next;
    return;
  end if;
  select * into v_run from ccm.runs r where r.id = p_run_id for update;
  if v_run.status <> 'awaiting_approval' then
    -- Nothing to decide any more (cancelled by an operator, say): record nothing, say why.
    outcome := 'not_awaiting_approval'; decision := null;
    return next;
    return;
  end if;
  v_summary := case when p_decision = 'approved' then 'approved by ' else 'rejected by ' end
               || trim(p_decided_by) || coalesce(': ' || nullif(trim(p_reason), ''), '');
  if p_decision = 'approved' then
    insert into ccm.runs (task_id, agent_id, attempt, approved_from, host_group)
    values (v_run.task_id, v_run.agent_id, v_run.attempt + 1, v_run.id, v_run.host_group)
    returning id into v_new;
    update ccm.runs r set summary = v_summary || '; continued in run ' || v_new, updated_at = now()
     where r.id = p_run_id;
    update ccm.tasks t set status = 'queued', summary = v_summary, updated_at = now() where t.id = v_run.task_id;
  else
    update ccm.runs r set status = 'cancelled', summary = v_summary, updated_at = now() where r.id = p_run_id;
    update ccm.tasks t set status = 'cancelled', summary = v_summary, updated_at = now() where t.id = v_run.task_id;
  end if;
  update ccm.approvals a
     set decision = p_decision, decided_by = trim(p_decided_by), reason = nullif(trim(p_reason), ''),
         decided_at = now(), continuation_run_id = v_new
   where a.run_id = p_run_id;
  outcome := 'decided'; decision := p_decision; decided_by := trim(p_decided_by);
  decided_at := now(); continuation_run_id := v_new;
  return next;
end
$$;

-- What the agent needs to know about a run beyond its alert: a forced dry run, and the
-- approval it continues (proposal, who approved), if any.
create function ccm.run_context(p_run_id uuid, p_agent_id uuid)
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select jsonb_build_object(
           'task_dry_run', t.dry_run,
           'approval', (select jsonb_build_object('run_id', a.run_id, 'decided_by', a.decided_by, 'reason', a.reason,
                                                  'decided_at', a.decided_at, 'proposal', a.proposal)
                          from ccm.approvals a
                         where a.run_id = r.approved_from and a.decision = 'approved'))
    from ccm.runs r join ccm.tasks t on t.id = r.task_id
   where r.id = p_run_id and r.agent_id = p_agent_id
$$;

-- Checked before every remediation step: null when the agent may act, else why not
-- ({kind: 'paused', ...} or {kind: 'maintenance', mode, name, ends_at, ...}).
create function ccm.remediation_gate(p_agent_id uuid)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_ctl ccm.fleet_controls%rowtype;
  v_agent ccm.agents%rowtype;
  v_win ccm.maintenance_windows%rowtype;
begin
  select * into v_ctl from ccm.fleet_controls c where c.id;
  if found and v_ctl.paused then
    return jsonb_build_object('kind', 'paused', 'by', v_ctl.changed_by, 'reason', v_ctl.reason, 'since', v_ctl.changed_at);
  end if;
  select * into v_agent from ccm.agents a where a.id = p_agent_id;
  if not found then
    raise exception using errcode = 'P0002', message = 'unknown agent ' || p_agent_id;
  end if;
  -- A skip window wins over a wait window; among equals the one ending last.
  select * into v_win from ccm.maintenance_windows w
   where now() >= w.starts_at and now() < w.ends_at
     and (cardinality(w.hosts) = 0
          or exists (select 1 from unnest(w.hosts) h
                      where lower(h) = lower(v_agent.host)
                         or exists (select 1 from unnest(v_agent.aliases) x where lower(x) = lower(h))))
     and v_agent.labels @> w.labels
   order by (w.mode = 'skip') desc, w.ends_at desc
   limit 1;
  if found then
    return jsonb_build_object('kind', 'maintenance', 'id', v_win.id, 'name', v_win.name, 'mode', v_win.mode,
                              'ends_at', v_win.ends_at, 'by', v_win.created_by, 'reason', v_win.reason);
  end if;
  return null;
end
$$;

-- Rails checked once before a run starts changing the host, under a per-playbook lock so two
-- hosts cannot both take the last concurrency slot. p_claim false only evaluates (dry runs).
-- Per-host budget applies to automatic fixes; a human approval is itself the override.
-- Returns {ok: true} or {ok: false, reason: 'budget' | 'concurrency', ...} with the history.
create function ccm.begin_remediation(p_run_id uuid, p_agent_id uuid, p_approved boolean default false, p_claim boolean default true)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_run ccm.runs%rowtype;
  v_budget ccm.remediation_budgets%rowtype;
  v_history jsonb;
  v_count integer;
  v_running integer;
begin
  select * into v_run from ccm.runs r where r.id = p_run_id and r.agent_id = p_agent_id and r.status = 'running';
  if not found then
    raise exception using errcode = 'P0002', message = 'run ' || p_run_id || ' is not running on this agent';
  end if;
  if v_run.playbook is null then
    raise exception using errcode = '22023', message = 'run has no playbook';
  end if;
  perform pg_advisory_xact_lock(hashtext('ccm.remediation:' || v_run.playbook));
  select * into v_budget from ccm.remediation_budgets b where b.playbook = v_run.playbook;
  if not found then
    select * into v_budget from ccm.remediation_budgets b where b.playbook = '*';
  end if;
  if not found then
    v_budget.max_per_host := 3; v_budget.per_interval := interval '24 hours'; v_budget.max_concurrent := 5;
  end if;

  if not coalesce(p_approved, false) then
    select count(*), coalesce(jsonb_agg(jsonb_build_object('run_id', r.id, 'task_id', r.task_id, 'status', r.status,
                                                          'remediation_started_at', r.remediation_started_at,
                                                          'summary', r.summary) order by r.remediation_started_at desc), '[]')
      into v_count, v_history
      from ccm.runs r
     where r.agent_id = p_agent_id and r.playbook = v_run.playbook and r.id <> p_run_id
       and r.remediation_started_at > now() - v_budget.per_interval;
    if v_count >= v_budget.max_per_host then
      return jsonb_build_object('ok', false, 'reason', 'budget', 'max_per_host', v_budget.max_per_host,
                                'per_interval', v_budget.per_interval::text, 'count', v_count, 'history', v_history);
    end if;
  end if;

  select count(*) into v_running from ccm.runs r
   where r.playbook = v_run.playbook and r.status = 'running' and r.remediation_started_at is not null
     and r.id <> p_run_id;
  if v_running >= v_budget.max_concurrent then
    return jsonb_build_object('ok', false, 'reason', 'concurrency', 'max_concurrent', v_budget.max_concurrent,
                              'running', v_running);
  end if;
  if p_claim then
    update ccm.runs r set remediation_started_at = now(), updated_at = now() where r.id = p_run_id;
  end if;
  return jsonb_build_object('ok', true);
end
$$;

-- A run the agent will not do (maintenance window in skip mode): cancelled, with why.
create function ccm.skip_run(p_run_id uuid, p_agent_id uuid, p_summary text, p_result jsonb default null)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_task uuid;
begin
  update ccm.runs r
     set status = 'cancelled', finished_at = now(), updated_at = now(), lease_expires_at = null,
         summary = p_summary, result = p_result
   where r.id = p_run_id and r.agent_id = p_agent_id and r.status in ('claimed', 'running')
  returning r.task_id into v_task;
  if not found then
    return false;
  end if;
  update ccm.run_steps s set status = 'interrupted', finished_at = now()
   where s.run_id = p_run_id and s.status = 'started';
  update ccm.tasks t set status = 'cancelled', summary = p_summary, updated_at = now() where t.id = v_task;
  return true;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Operator functions (CLI, hub API, Slack).

create function ccm.set_fleet_pause(p_paused boolean, p_changed_by text, p_reason text default null)
returns table (paused boolean, changed_by text, reason text, changed_at timestamptz)
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
begin
  if p_paused is null or p_changed_by is null or length(trim(p_changed_by)) = 0 then
    raise exception using errcode = '22023', message = 'paused and changed_by are required';
  end if;
  return query
  update ccm.fleet_controls c
     set paused = p_paused, changed_by = trim(p_changed_by), reason = nullif(trim(p_reason), ''), changed_at = now()
   where c.id
  returning c.paused, c.changed_by, c.reason, c.changed_at;
end
$$;

create function ccm.add_maintenance_window(
  p_name text, p_hosts text[], p_labels jsonb, p_starts_at timestamptz, p_ends_at timestamptz,
  p_mode text default 'wait', p_created_by text default null, p_reason text default null
)
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_id uuid;
begin
  if p_name is null or length(trim(p_name)) = 0 then
    raise exception using errcode = '22023', message = 'a maintenance window needs a name';
  end if;
  if p_starts_at is null or p_ends_at is null or p_ends_at <= p_starts_at then
    raise exception using errcode = '22023', message = 'ends_at must be after starts_at';
  end if;
  if p_mode not in ('wait', 'skip') then
    raise exception using errcode = '22023', message = 'mode must be wait or skip';
  end if;
  insert into ccm.maintenance_windows (name, hosts, labels, starts_at, ends_at, mode, created_by, reason)
  values (trim(p_name), coalesce(p_hosts, '{}'), coalesce(p_labels, '{}'::jsonb), p_starts_at, p_ends_at, p_mode,
          p_created_by, p_reason)
  returning id into v_id;
  return v_id;
end
$$;

-- End a window now (keeps the row for the audit).
create function ccm.end_maintenance_window(p_id uuid)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
begin
  update ccm.maintenance_windows w set ends_at = greatest(w.starts_at + interval '1 microsecond', now())
   where w.id = p_id and w.ends_at > now();
  return found;
end
$$;

create function ccm.set_remediation_budget(
  p_playbook text, p_max_per_host integer, p_per_interval interval, p_max_concurrent integer, p_updated_by text default null
)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into ccm.remediation_budgets as b (playbook, max_per_host, per_interval, max_concurrent, updated_by)
  values (p_playbook, p_max_per_host, p_per_interval, p_max_concurrent, p_updated_by)
  on conflict (playbook) do update
    set max_per_host = excluded.max_per_host, per_interval = excluded.per_interval,
        max_concurrent = excluded.max_concurrent, updated_by = excluded.updated_by, updated_at = now();
end
$$;

revoke all on function ccm.save_confidence(uuid, uuid, jsonb, jsonb, text) from public;
revoke all on function ccm.track_record(text, text, text) from public;
revoke all on function ccm.record_outcome(uuid, uuid, boolean) from public;
revoke all on function ccm.request_approval(uuid, uuid, text, jsonb, jsonb) from public;
revoke all on function ccm.decide_approval(uuid, text, text, text) from public;
revoke all on function ccm.run_context(uuid, uuid) from public;
revoke all on function ccm.remediation_gate(uuid) from public;
revoke all on function ccm.begin_remediation(uuid, uuid, boolean, boolean) from public;
revoke all on function ccm.skip_run(uuid, uuid, text, jsonb) from public;
revoke all on function ccm.set_fleet_pause(boolean, text, text) from public;
revoke all on function ccm.add_maintenance_window(text, text[], jsonb, timestamptz, timestamptz, text, text, text) from public;
revoke all on function ccm.end_maintenance_window(uuid) from public;
revoke all on function ccm.set_remediation_budget(text, integer, interval, integer, text) from public;
