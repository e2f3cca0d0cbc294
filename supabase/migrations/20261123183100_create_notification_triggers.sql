-- Triggers that enqueue notifications in the same transaction as the state change that causes them,
-- and the approval timeout. Incident key: 'incident:<uuid>' for a task linked to a fleet-wide storm
-- (ccm.incidents), else 'task:<uuid>'.

-- Statuses that page a human: CCM could not fix it, or cannot tell what state the host is in.
create function ccm.pages_on_status(p_status text)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select p_status in ('escalated', 'failed', 'unknown')
$$;

-- The incident a task belongs to: its fleet-wide storm (ccm.incidents) when linked, else the task.
-- One Slack thread and at most one page per incident key.
create function ccm.incident_key(p_task_id uuid)
returns text
language sql
stable
set search_path = ''
as $$
  select coalesce((select 'incident:' || t.incident_id from ccm.tasks t where t.id = p_task_id and t.incident_id is not null),
                  'task:' || p_task_id)
$$;

-- True when nothing of the task's incident still needs a human: every task of it either succeeded
-- or its alert resolved.
create function ccm.incident_settled(p_task_id uuid)
returns boolean
language sql
stable
set search_path = ''
as $$
  select not exists (
    select 1 from ccm.tasks t
     where (t.id = p_task_id
            or t.incident_id = (select x.incident_id from ccm.tasks x where x.id = p_task_id))
       and t.resolved_at is null and t.status <> 'succeeded')
$$;

-- A run reached a final state or awaits approval: tell Slack; page on PagerDuty when it needs a human.
create function ccm.enqueue_run_notifications()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_alertname text;
  v_incident text;
begin
  if new.status is not distinct from old.status
     or new.status not in ('succeeded', 'failed', 'escalated', 'unknown', 'awaiting_approval') then
    return null;
  end if;
  v_incident := ccm.incident_key(new.task_id);
  select t.alertname into v_alertname from ccm.tasks t where t.id = new.task_id;

  if new.status = 'awaiting_approval' then
    perform ccm.enqueue_notification('slack', 'approval_requested', 'slack:approval:' || new.id, v_incident,
                                     new.task_id, new.id, jsonb_build_object('status', new.status));
  else
    perform ccm.enqueue_notification('slack', 'run_finished', 'slack:run:' || new.id || ':' || new.status, v_incident,
                                     new.task_id, new.id, jsonb_build_object('status', new.status),
                                     case when v_alertname is not null then 'run:' || new.status || ':' || left(v_alertname, 200) end);
  end if;

  if ccm.pages_on_status(new.status) then
    -- One page per incident, however many runs or hosts of it escalate.
    perform ccm.enqueue_notification('pagerduty', 'pd_trigger', 'pd:trigger:' || v_incident, v_incident,
                                     new.task_id, new.id, jsonb_build_object('status', new.status));
  end if;
  return null;
end
$$;

create trigger runs_enqueue_notifications
  after update of status on ccm.runs
  for each row execute function ccm.enqueue_run_notifications();

-- A task was fixed (a real, not dry, run succeeded) or its alert ended: resolve the page once the whole
-- incident is settled, and say in the thread that the alert resolved.
create function ccm.enqueue_task_notifications()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_incident text;
  v_resolved boolean := old.resolved_at is null and new.resolved_at is not null;
  v_fixed boolean := new.status = 'succeeded' and old.status is distinct from 'succeeded';
begin
  if not (v_resolved or v_fixed) then
    return null;
  end if;
  if v_fixed then
    -- A dry run that "succeeded" changed nothing on the host.
    v_fixed := not coalesce((select r.dry_run from ccm.runs r where r.task_id = new.id
                              order by r.created_at desc limit 1), false);
    if not (v_resolved or v_fixed) then
      return null;
    end if;
  end if;
  v_incident := ccm.incident_key(new.id);
  if v_resolved and exists (select 1 from ccm.notifications n where n.incident_key = v_incident and n.channel = 'slack') then
    perform ccm.enqueue_notification('slack', 'alert_resolved', 'slack:resolved:' || new.id, v_incident, new.id, null,
                                     jsonb_build_object('resolved_at', new.resolved_at),
                                     'resolved:' || coalesce(left(new.alertname, 200), new.id::text));
  end if;
  if exists (select 1 from ccm.notifications n where n.dedup_key = 'pd:trigger:' || v_incident)
     and ccm.incident_settled(new.id) then
    perform ccm.enqueue_notification('pagerduty', 'pd_resolve', 'pd:resolve:' || v_incident, v_incident, new.id, null,
                                     jsonb_build_object('reason', case when v_fixed then 'fixed' else 'alert resolved' end));
  end if;
  return null;
end
$$;

create trigger tasks_enqueue_notifications
  after update of status, resolved_at on ccm.tasks
  for each row execute function ccm.enqueue_task_notifications();

-- A decision was recorded (Slack, CLI or API): update the approval message. A timeout escalates.
create function ccm.enqueue_approval_decided_notifications()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_incident text;
begin
  if old.decision is not null or new.decision is null then
    return null;
  end if;
  v_incident := ccm.incident_key(new.task_id);
  perform ccm.enqueue_notification('slack', 'approval_decided', 'slack:approval-decided:' || new.run_id, v_incident,
                                   new.task_id, new.run_id,
                                   jsonb_build_object('decision', new.decision, 'decided_by', new.decided_by,
                                                      'reason', new.reason));
  if new.decided_by = 'ccm:approval-timeout' then
    perform ccm.enqueue_notification('pagerduty', 'pd_trigger', 'pd:trigger:' || v_incident, v_incident,
                                     new.task_id, new.run_id, jsonb_build_object('status', 'approval_expired'));
  end if;
  return null;
end
$$;

create trigger approvals_enqueue_decided_notifications
  after update of decision on ccm.approvals
  for each row execute function ccm.enqueue_approval_decided_notifications();

-- Approvals nobody answered within p_timeout_seconds: rejected as 'ccm:approval-timeout' through
-- ccm.decide_approval (so the agent stands down the normal way), which pages via the trigger above.
-- Safe on many replicas: SKIP LOCKED, and decide_approval lets only the first decision win.
create function ccm.expire_approvals(p_timeout_seconds integer)
returns table (run_id uuid)
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_run uuid;
begin
  for v_run in
    select a.run_id from ccm.approvals a
     where a.decision is null and a.requested_at < now() - make_interval(secs => p_timeout_seconds)
     order by a.requested_at
     limit 100
     for update skip locked
  loop
    perform ccm.decide_approval(v_run, 'rejected', 'ccm:approval-timeout',
                                'no decision within ' || p_timeout_seconds || ' s; escalated');
    if exists (select 1 from ccm.approvals a where a.run_id = v_run and a.decided_by = 'ccm:approval-timeout') then
      run_id := v_run;
      return next;
    end if;
  end loop;
end
$$;

revoke all on function ccm.pages_on_status(text) from public;
revoke all on function ccm.enqueue_run_notifications() from public;
revoke all on function ccm.enqueue_task_notifications() from public;
revoke all on function ccm.incident_key(uuid) from public;
revoke all on function ccm.incident_settled(uuid) from public;
revoke all on function ccm.enqueue_approval_decided_notifications() from public;
revoke all on function ccm.expire_approvals(integer) from public;

do $$
begin
  if exists (select 1 from pg_roles where rolname = 'service_role') then
    grant execute on function ccm.expire_approvals(integer) to service_role;
  end if;
end
$$;
