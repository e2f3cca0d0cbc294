-- The notification workers' reads and writes as functions, so the outbox, approval expiry and the
-- digest run over PostgREST (supabase.rpc with the service-role key) as well as over a direct
-- connection. Every write that must stay atomic is one function: PostgREST runs each call in its
-- own transaction.

-- The Slack thread opened for an incident (no row: none yet).
create function ccm.find_slack_thread(p_incident_key text)
returns table (channel text, thread_ts text)
language sql
stable
security definer
set search_path = ''
as $$
  select s.channel, s.thread_ts from ccm.slack_threads s where s.incident_key = p_incident_key
$$;

-- Remember the message that opened an incident's thread; the first one wins.
create function ccm.save_slack_thread(p_incident_key text, p_channel text, p_thread_ts text)
returns void
language sql
security definer
set search_path = ''
as $$
  insert into ccm.slack_threads (incident_key, channel, thread_ts)
  values (p_incident_key, p_channel, p_thread_ts)
  on conflict (incident_key) do nothing
$$;

-- Status and receiver answer of one notification by dedup key: where an approval request was
-- posted (to update it once decided), which routing key a PagerDuty trigger used (to resolve it).
create function ccm.notification_outcome(p_dedup_key text)
returns table (status text, result jsonb)
language sql
stable
security definer
set search_path = ''
as $$
  select n.status, n.result from ccm.notifications n where n.dedup_key = p_dedup_key
$$;

-- What a message says about a task and (optionally) one of its runs; no row when the task is gone.
create function ccm.notification_incident_context(p_task_id uuid, p_run_id uuid default null)
returns table (
  task_id uuid, host text, alertname text, labels jsonb, annotations jsonb, task_status text,
  task_summary text, task_created_at timestamptz, resolved_at timestamptz, run_id uuid,
  run_status text, playbook text, dry_run boolean, run_summary text, run_error text, result jsonb,
  confidence jsonb, proposal jsonb, agent_host text, steps jsonb, decision text, decided_by text,
  decision_reason text
)
language sql
stable
security definer
set search_path = ''
as $$
  select t.id, t.host, t.alertname, t.labels, t.annotations, t.status,
         t.summary, t.created_at, t.resolved_at,
         r.id, r.status, r.playbook, r.dry_run, r.summary,
         r.error, r.result, r.confidence, r.proposal, a.host,
         coalesce((select jsonb_agg(jsonb_build_object('phase', s.phase, 'action', s.action, 'status', s.status,
                                                       'detail', s.detail) order by s.seq)
                     from ccm.run_steps s where s.run_id = r.id), '[]'::jsonb),
         ap.decision, ap.decided_by, ap.reason
    from ccm.tasks t
    left join ccm.runs r on r.id = p_run_id
    left join ccm.agents a on a.id = r.agent_id
    left join ccm.approvals ap on ap.run_id = r.id
   where t.id = p_task_id
$$;

-- What happened between p_period_start and p_period_end, read from the history tables in one
-- snapshot. Timestamps come out as ISO strings, counts as numbers.
create function ccm.digest_report(p_period_start timestamptz, p_period_end timestamptz, p_offline_after_s integer)
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select jsonb_build_object(
    'alerts', (
      select jsonb_build_object('firing', count(*) filter (where a.status = 'firing'),
                                'resolved', count(*) filter (where a.status = 'resolved'))
        from ccm.alerts a where a.received_at >= p_period_start and a.received_at < p_period_end),
    'outcomes', coalesce((
      select jsonb_agg(jsonb_build_object('status', o.status, 'playbook', o.playbook, 'n', o.n, 'dry', o.dry) order by o.n desc)
        from (select r.status, coalesce(r.playbook, '-') as playbook, count(*) as n, count(*) filter (where r.dry_run) as dry
                from ccm.runs r
               where r.finished_at >= p_period_start and r.finished_at < p_period_end
                 and r.status in ('succeeded', 'failed', 'escalated', 'unknown', 'awaiting_approval', 'cancelled')
               group by 1, 2) o), '[]'::jsonb),
    -- Time from the alert's start (else the task's creation) to the run that fixed it.
    'mttr', (
      select jsonb_build_object('seconds', avg(extract(epoch from r.finished_at - coalesce(t.starts_at, t.created_at))), 'n', count(*))
        from ccm.runs r join ccm.tasks t on t.id = r.task_id
       where r.finished_at >= p_period_start and r.finished_at < p_period_end
         and r.status = 'succeeded' and not coalesce(r.dry_run, false)),
    'top_hosts', coalesce((
      select jsonb_agg(jsonb_build_object('host', h.host, 'n', h.n) order by h.n desc, h.host)
        from (select t.host, count(*) as n from ccm.tasks t
               where t.created_at >= p_period_start and t.created_at < p_period_end and t.host is not null
               group by t.host order by 2 desc, 1 limit 5) h), '[]'::jsonb),
    'needs_human', coalesce((
      select jsonb_agg(jsonb_build_object('status', x.status, 'host', x.host, 'alertname', x.alertname,
                                          'summary', x.summary, 'task_id', x.task_id) order by x.finished_at desc)
        from (select r.status, t.host, t.alertname, coalesce(r.summary, t.summary) as summary, t.id as task_id, r.finished_at
                from ccm.runs r join ccm.tasks t on t.id = r.task_id
               where r.finished_at >= p_period_start and r.finished_at < p_period_end
                 and r.status in ('escalated', 'failed', 'unknown')
               order by r.finished_at desc limit 10) x), '[]'::jsonb),
    'pending_approvals', coalesce((
      select jsonb_agg(jsonb_build_object('run_id', x.run_id, 'host', x.host, 'alertname', x.alertname,
                                          'requested_at', x.requested_at) order by x.requested_at)
        from (select ap.run_id, t.host, t.alertname, ap.requested_at
                from ccm.approvals ap join ccm.tasks t on t.id = ap.task_id
               where ap.decision is null order by ap.requested_at limit 10) x), '[]'::jsonb),
    'pending_approval_count', (select count(*) from ccm.approvals ap where ap.decision is null),
    -- The engine records a rail that stopped a fix as result.blocked_by.
    'budgets', coalesce((
      select jsonb_agg(jsonb_build_object('playbook', b.playbook, 'n', b.n) order by b.n desc)
        from (select coalesce(r.playbook, '-') as playbook, count(*) as n from ccm.runs r
               where r.finished_at >= p_period_start and r.finished_at < p_period_end
                 and r.result ->> 'blocked_by' = 'budget'
               group by 1) b), '[]'::jsonb),
    'broadcasts_finished', (
      select count(*) from ccm.broadcasts b where b.finished_at >= p_period_start and b.finished_at < p_period_end),
    'offline_agents', coalesce((
      select jsonb_agg(jsonb_build_object('host', g.host, 'last_seen', g.last_seen) order by g.last_seen)
        from (select a.host, a.last_seen from ccm.agents a
               where a.last_seen < now() - make_interval(secs => p_offline_after_s)
               order by a.last_seen limit 20) g), '[]'::jsonb),
    'delivery_failures', (
      select count(*) from ccm.notifications n
       where n.status = 'failed' and n.created_at >= p_period_start and n.created_at < p_period_end)
  )
$$;

-- The period the morning digest of p_day would cover: from where the last one ended (else 24 h
-- back) to p_now. No row when p_day's digest is already recorded, so a check after it was sent
-- costs one lookup, not a whole digest.
create function ccm.digest_period(p_day date, p_now timestamptz)
returns table (period_start timestamptz, period_end timestamptz)
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce((select max(d.period_end) from ccm.digest_runs d), p_now - interval '24 hours'), p_now
   where not exists (select 1 from ccm.digest_runs d where d.day = p_day)
$$;

-- Record p_day's digest and enqueue its Slack message, in one transaction: the digest_runs row
-- (unique per local day) and the outbox row commit together, so replicas and restarts send it
-- exactly once. 'already_sent' when another replica recorded the day first.
create function ccm.record_scheduled_digest(p_day date, p_period_start timestamptz, p_period_end timestamptz, p_payload jsonb)
returns table (outcome text, notification_id bigint)
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_id bigint;
begin
  insert into ccm.digest_runs (day, period_start, period_end)
  values (p_day, p_period_start, p_period_end)
  on conflict (day) do nothing;
  if not found then
    outcome := 'already_sent';
    return next;
    return;
  end if;
  v_id := ccm.enqueue_notification('slack', 'digest', 'digest:' || to_char(p_day, 'YYYY-MM-DD'),
                                   p_payload => p_payload);
  update ccm.digest_runs d set notification_id = v_id where d.day = p_day;
  outcome := 'enqueued';
  notification_id := v_id;
  return next;
end
$$;

revoke all on function ccm.find_slack_thread(text) from public;
revoke all on function ccm.save_slack_thread(text, text, text) from public;
revoke all on function ccm.notification_outcome(text) from public;
revoke all on function ccm.notification_incident_context(uuid, uuid) from public;
revoke all on function ccm.digest_report(timestamptz, timestamptz, integer) from public;
revoke all on function ccm.digest_period(date, timestamptz) from public;
revoke all on function ccm.record_scheduled_digest(date, timestamptz, timestamptz, jsonb) from public;

-- The hub's notification workers and `ccm digest` (both the service role on Supabase).
-- decide_approval: the Slack approve/reject buttons decide through the hub.
do $$
begin
  if exists (select 1 from pg_roles where rolname = 'service_role') then
    grant execute on function ccm.find_slack_thread(text) to service_role;
    grant execute on function ccm.save_slack_thread(text, text, text) to service_role;
    grant execute on function ccm.notification_outcome(text) to service_role;
    grant execute on function ccm.notification_incident_context(uuid, uuid) to service_role;
    grant execute on function ccm.digest_report(timestamptz, timestamptz, integer) to service_role;
    grant execute on function ccm.digest_period(date, timestamptz) to service_role;
    grant execute on function ccm.record_scheduled_digest(date, timestamptz, timestamptz, jsonb) to service_role;
    grant execute on function ccm.decide_approval(uuid, text, text, text) to service_role;
  end if;
end
$$;
