-- Notification outbox (Slack, PagerDuty), Slack thread mapping, Slack replay guard, digest log.
-- Rows are written by triggers in the same transaction as the state change that causes them
-- (see 20261123183100_create_notification_triggers.sql); hub workers deliver them.

create table ccm.notifications (
  id              bigint generated always as identity primary key,
  channel         text not null check (channel in ('slack', 'pagerduty')),
  -- run_finished | approval_requested | approval_decided | alert_resolved | broadcast_done | digest | pd_trigger | pd_resolve | ...
  kind            text not null,
  -- Unique per causing event: a redelivered state change never enqueues twice.
  dedup_key       text not null,
  -- The incident this belongs to (one Slack thread, one PagerDuty incident): 'task:<uuid>' today.
  incident_key    text,
  -- Rows with the same key that are ready together are sent as one Slack message (alert storms).
  coalesce_key    text,
  task_id         uuid references ccm.tasks (id) on delete set null,
  run_id          uuid references ccm.runs (id) on delete set null,
  payload         jsonb not null default '{}'::jsonb,
  status          text not null default 'pending'
                  check (status in ('pending', 'sending', 'sent', 'failed', 'skipped')),
  attempts        integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  locked_by       text,
  locked_until    timestamptz,
  last_error      text,
  -- What the receiver answered that later messages need (Slack channel + ts).
  result          jsonb,
  created_at      timestamptz not null default now(),
  sent_at         timestamptz,
  constraint notifications_dedup_key unique (dedup_key)
);
create index notifications_ready_idx on ccm.notifications (next_attempt_at, id) where status in ('pending', 'sending');
create index notifications_incident_idx on ccm.notifications (incident_key, channel, id) where incident_key is not null;
create index notifications_task_idx on ccm.notifications (task_id) where task_id is not null;
alter table ccm.notifications enable row level security;

-- One Slack thread per incident: later updates are replies to thread_ts.
create table ccm.slack_threads (
  incident_key text primary key,
  channel      text not null,
  thread_ts    text not null,
  created_at   timestamptz not null default now()
);
alter table ccm.slack_threads enable row level security;

-- Signatures of Slack interaction requests already accepted: a replayed request is refused.
create table ccm.slack_request_signatures (
  signature text primary key,
  seen_at   timestamptz not null default now()
);
create index slack_request_signatures_seen_idx on ccm.slack_request_signatures (seen_at);
alter table ccm.slack_request_signatures enable row level security;

-- One morning digest per local day, whatever the number of hub replicas or restarts.
create table ccm.digest_runs (
  day             date primary key,
  period_start    timestamptz not null,
  period_end      timestamptz not null,
  notification_id bigint references ccm.notifications (id) on delete set null,
  created_at      timestamptz not null default now()
);
alter table ccm.digest_runs enable row level security;

-- The digest reads history by time; without these it scans every run and alert.
create index if not exists runs_finished_at_idx on ccm.runs (finished_at) where finished_at is not null;
create index if not exists alerts_received_at_idx on ccm.alerts (received_at);
create index if not exists tasks_created_host_idx on ccm.tasks (created_at, host);

-- Enqueue one notification; a second call with the same dedup key is a no-op. Returns the id or null.
create function ccm.enqueue_notification(
  p_channel text, p_kind text, p_dedup_key text, p_incident_key text default null,
  p_task_id uuid default null, p_run_id uuid default null, p_payload jsonb default '{}'::jsonb,
  p_coalesce_key text default null
)
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_id bigint;
begin
  insert into ccm.notifications (channel, kind, dedup_key, incident_key, task_id, run_id, payload, coalesce_key)
  values (p_channel, p_kind, p_dedup_key, p_incident_key, p_task_id, p_run_id, coalesce(p_payload, '{}'::jsonb), p_coalesce_key)
  on conflict (dedup_key) do nothing
  returning id into v_id;
  return v_id;
end
$$;

-- Claim ready notifications for one worker with a lease. SKIP LOCKED: replicas never share a row.
-- A row waits while an earlier row of the same incident and channel is unsent (thread order, and a
-- PagerDuty resolve never overtakes its trigger), unless both share a coalesce key (they go out
-- together). Rows with a coalesce key wait p_coalesce_seconds
-- so a burst arrives together; the ready rows sharing a claimed row's key come along.
create function ccm.claim_notifications(
  p_worker text, p_limit integer default 20, p_lease_seconds integer default 120, p_coalesce_seconds numeric default 0
)
returns setof ccm.notifications
language plpgsql
security definer
set search_path = ''
as $$
begin
  return query
  with first_pick as (
    select n.id, n.coalesce_key from ccm.notifications n
     where ((n.status = 'pending' and n.next_attempt_at <= now())
            or (n.status = 'sending' and n.locked_until < now()))
       and (n.coalesce_key is null or n.created_at <= now() - make_interval(secs => p_coalesce_seconds::double precision))
       and not exists (
         select 1 from ccm.notifications p
          where n.incident_key is not null and p.incident_key = n.incident_key and p.channel = n.channel
            and p.id < n.id and p.status in ('pending', 'sending')
            and (n.coalesce_key is null or p.coalesce_key is distinct from n.coalesce_key))
     order by n.id
     limit greatest(p_limit, 0)
     for update skip locked
  ), companions as (
    select n.id from ccm.notifications n
     where n.coalesce_key in (select f.coalesce_key from first_pick f where f.coalesce_key is not null)
       and n.status = 'pending' and n.next_attempt_at <= now()
       and n.id not in (select f.id from first_pick f)
       and not exists (
         select 1 from ccm.notifications p
          where n.incident_key is not null and p.incident_key = n.incident_key and p.channel = n.channel
            and p.id < n.id and p.status in ('pending', 'sending')
            and (n.coalesce_key is null or p.coalesce_key is distinct from n.coalesce_key))
     limit 200
     for update skip locked
  )
  update ccm.notifications n
     set status = 'sending', locked_by = p_worker, attempts = n.attempts + 1,
         locked_until = now() + make_interval(secs => p_lease_seconds)
   where n.id in (select f.id from first_pick f union all select c.id from companions c)
  returning n.*;
end
$$;

-- Delivered. False when this worker no longer holds the row (its lease ran out and another took it).
create function ccm.complete_notification(p_id bigint, p_worker text, p_result jsonb default null, p_status text default 'sent')
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
begin
  if p_status not in ('sent', 'skipped') then
    raise exception using errcode = '22023', message = 'complete status must be sent or skipped';
  end if;
  update ccm.notifications n
     set status = p_status, sent_at = now(), result = p_result, locked_by = null, locked_until = null,
         last_error = case when p_status = 'skipped' then coalesce(p_result ->> 'reason', n.last_error) else n.last_error end
   where n.id = p_id and n.locked_by = p_worker and n.status = 'sending';
  return found;
end
$$;

-- Not delivered: retry at p_retry_at, or give up (p_retry_at null) and keep the row as `failed`.
-- p_count_attempt false: a rate-limit wait is not a failed attempt.
create function ccm.fail_notification(
  p_id bigint, p_worker text, p_error text, p_retry_at timestamptz default null, p_count_attempt boolean default true
)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
begin
  update ccm.notifications n
     set status = case when p_retry_at is null then 'failed' else 'pending' end,
         next_attempt_at = coalesce(p_retry_at, n.next_attempt_at),
         attempts = case when p_count_attempt then n.attempts else greatest(n.attempts - 1, 0) end,
         last_error = left(p_error, 2000), locked_by = null, locked_until = null
   where n.id = p_id and n.locked_by = p_worker and n.status = 'sending';
  return found;
end
$$;

-- Remember a Slack request signature; false when it was seen before (a replay). Forgets after 15 minutes,
-- well past the 5-minute timestamp window that already refuses older requests.
create function ccm.remember_slack_signature(p_signature text)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_new boolean;
begin
  delete from ccm.slack_request_signatures s where s.seen_at < now() - interval '15 minutes';
  insert into ccm.slack_request_signatures (signature) values (p_signature)
  on conflict (signature) do nothing;
  get diagnostics v_new = row_count;
  return v_new;
end
$$;

revoke all on function ccm.enqueue_notification(text, text, text, text, uuid, uuid, jsonb, text) from public;
revoke all on function ccm.claim_notifications(text, integer, integer, numeric) from public;
revoke all on function ccm.complete_notification(bigint, text, jsonb, text) from public;
revoke all on function ccm.fail_notification(bigint, text, text, timestamptz, boolean) from public;
revoke all on function ccm.remember_slack_signature(text) from public;
revoke all on all tables in schema ccm from public;

-- The hub (service_role on Supabase) runs the outbox; nobody else touches it.
do $$
begin
  if exists (select 1 from pg_roles where rolname = 'service_role') then
    grant execute on function ccm.enqueue_notification(text, text, text, text, uuid, uuid, jsonb, text) to service_role;
    grant execute on function ccm.claim_notifications(text, integer, integer, numeric) to service_role;
    grant execute on function ccm.complete_notification(bigint, text, jsonb, text) to service_role;
    grant execute on function ccm.fail_notification(bigint, text, text, timestamptz, boolean) to service_role;
    grant execute on function ccm.remember_slack_signature(text) to service_role;
  end if;
end
$$;
