-- Storm control for every source: grouping, fleet-wide incidents, flapping, capped raw payloads.
-- Replaces ccm.ingest_alerts (same signature, same outcomes for the cases it already handled).
--
-- Grouping: alerts sharing a key (default alertname + host + mountpoint, see ccm.settings 'storm.group_by')
-- make one active task, whose alert_count says how many it absorbed.
-- Fleet storm: the same alertname on >= 'storm.fleet_hosts' hosts within 'storm.fleet_window_s'
-- is one open ccm.incidents row the per-host tasks link to (tasks still run; notifying humans of
-- the incident belongs to the notifications issue).
-- Flapping: a condition that resolved >= 'flapping.max_flaps' times within 'flapping.window_s' and
-- fires again is flapping: one task is escalated (no run), later firings are absorbed into it and
-- nothing is re-run until the condition has been quiet for the window.

-- Knobs an operator tunes without a deploy. Values are checked here so a typo cannot break ingest.
create table ccm.settings (
  key         text primary key,
  value       jsonb not null,
  description text not null,
  updated_at  timestamptz not null default now(),
  constraint settings_known_key check (key in (
    'storm.group_by', 'storm.group_window_s', 'storm.fleet_hosts', 'storm.fleet_window_s',
    'flapping.max_flaps', 'flapping.window_s', 'ingest.raw_max_bytes')),
  constraint settings_value_shape check (
    case when key = 'storm.group_by'
         then jsonb_typeof(value) = 'array' and jsonb_array_length(value) between 1 and 10
              and not jsonb_path_exists(value, '$[*] ? (@.type() != "string")')
         else jsonb_typeof(value) = 'number' and (value #>> '{}')::numeric >= 0
              and (value #>> '{}')::numeric <= 100000000
    end)
);
alter table ccm.settings enable row level security;

insert into ccm.settings (key, value, description) values
  -- mountpoint is in the default key because disk-full acts on one filesystem per run: a second full
  -- filesystem on the same host must be its own task, not absorbed into the first one's.
  ('storm.group_by', '["alertname", "host", "mountpoint"]',
   'labels whose values make the grouping key; "host" means the host the alert was routed by; an absent label counts as empty'),
  ('storm.group_window_s', '0',
   'seconds after a task finished during which new alerts of its group are still absorbed into it (0 = off)'),
  ('storm.fleet_hosts', '10',
   'distinct hosts with the same alertname within storm.fleet_window_s that open a fleet-wide incident (0 = off)'),
  ('storm.fleet_window_s', '300', 'window of the fleet-wide storm count, seconds'),
  ('flapping.max_flaps', '3',
   'resolves within flapping.window_s after which a new firing marks the condition flapping (0 = off)'),
  ('flapping.window_s', '3600', 'window of the flapping count, and how long a flapping condition must be quiet'),
  ('ingest.raw_max_bytes', '65536', 'largest raw payload kept per alert; larger ones keep a truncated head');

-- A number setting, or the default when the row is absent.
create function ccm.setting_number(p_key text, p_default numeric)
returns numeric
language sql
stable
set search_path = ''
as $$
  select coalesce((select (s.value #>> '{}')::numeric from ccm.settings s where s.key = p_key), p_default)
$$;

-- Operators change knobs through this (or Studio); the table's checks validate the value.
create function ccm.set_setting(p_key text, p_value jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
  update ccm.settings s set value = p_value, updated_at = now() where s.key = p_key;
  if not found then
    raise exception using errcode = '22023', message = 'unknown setting ' || coalesce(p_key, '(null)');
  end if;
  return p_value;
end
$$;

-- Keys stored in unique indexes must stay under btree's row limit whatever a sender puts in labels.
create function ccm.bounded_key(p_key text)
returns text
language sql
immutable
set search_path = ''
as $$
  select case when length(p_key) > 400 then left(p_key, 300) || '#' || md5(p_key) else p_key end
$$;

-- The grouping key of an alert: the values of the storm.group_by labels ("host" = routed host).
-- Null when the alert has none of them (it then groups only with its own fingerprint).
create function ccm.condition_key(p_group_by jsonb, p_labels jsonb, p_host text)
returns text
language plpgsql
immutable
set search_path = ''
as $$
declare
  v_name text;
  v_value text;
  v_parts text[] := '{}';
  v_any boolean := false;
begin
  for v_name in select jsonb_array_elements_text(p_group_by)
  loop
    v_value := case when v_name = 'host' then lower(p_host) else p_labels ->> v_name end;
    v_any := v_any or v_value is not null;
    v_parts := v_parts || coalesce(v_value, '');
  end loop;
  if not v_any then
    return null;
  end if;
  return ccm.bounded_key(to_jsonb(v_parts)::text);
end
$$;

-- One row per fleet-wide storm: the same alertname on many hosts at once.
create table ccm.incidents (
  id            uuid primary key default gen_random_uuid(),
  kind          text not null default 'fleet_storm' check (kind in ('fleet_storm')),
  status        text not null default 'open' check (status in ('open', 'closed')),
  alertname     text not null,
  host_count    integer not null default 0,
  task_count    integer not null default 0,
  alert_count   integer not null default 0,
  summary       text,
  opened_at     timestamptz not null default now(),
  last_alert_at timestamptz not null default now(),
  closed_at     timestamptz
);
create unique index incidents_open_alertname on ccm.incidents (alertname) where status = 'open';
create index incidents_opened_at_idx on ccm.incidents (opened_at desc);
alter table ccm.incidents enable row level security;

alter table ccm.tasks
  -- The fleet-wide incident this task is part of (humans get one message for all of them).
  add column incident_id uuid references ccm.incidents (id) on delete set null,
  -- Set on the task that escalated a flapping condition.
  add column flapping boolean not null default false;
create index tasks_incident_idx on ccm.tasks (incident_id) where incident_id is not null;
create index tasks_alertname_created_idx on ccm.tasks (left(alertname, 200), created_at desc);
create index tasks_dedup_key_updated_idx on ccm.tasks (dedup_key, updated_at desc) where dedup_key is not null;

alter table ccm.alerts
  -- Grouping key at receipt (flapping counts resolves per key).
  add column condition_key text,
  -- True when raw holds only the head of a payload larger than ingest.raw_max_bytes.
  add column raw_truncated boolean not null default false;
create index alerts_condition_resolved_idx on ccm.alerts (condition_key, received_at desc)
  where status = 'resolved' and condition_key is not null;
create index alerts_received_at_idx on ccm.alerts (received_at desc);

-- A condition marked flapping, and the one task that escalated it.
create table ccm.flapping_conditions (
  condition_key      text primary key,
  alertname          text,
  host               text,
  flaps              integer not null,
  since              timestamptz not null default now(),
  last_seen_at       timestamptz not null default now(),
  escalation_task_id uuid references ccm.tasks (id) on delete set null
);
alter table ccm.flapping_conditions enable row level security;

-- Link a new task to the fleet-wide incident of its alertname, opening one when the storm
-- threshold is reached. Serialised per alertname so concurrent deliveries open one incident.
create function ccm.link_fleet_storm(p_task_id uuid, p_alertname text)
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_threshold numeric := ccm.setting_number('storm.fleet_hosts', 10);
  v_window interval := make_interval(secs => ccm.setting_number('storm.fleet_window_s', 300)::double precision);
  v_name text := left(p_alertname, 500);
  v_incident uuid;
  v_last timestamptz;
  v_hosts integer;
begin
  if p_alertname is null or v_threshold = 0 then
    return null;
  end if;
  perform pg_advisory_xact_lock(hashtextextended('ccm.fleet_storm:' || v_name, 0));
  select i.id, i.last_alert_at into v_incident, v_last from ccm.incidents i
   where i.alertname = v_name and i.status = 'open' for update;
  if found and v_last < now() - v_window then
    -- The last storm of this alertname is over; a new one starts from zero.
    update ccm.incidents i set status = 'closed', closed_at = now() where i.id = v_incident;
    v_incident := null;
  end if;
  if v_incident is null then
    select count(distinct lower(t.host)) into v_hosts from ccm.tasks t
     where left(t.alertname, 200) = left(p_alertname, 200) and t.alertname = p_alertname
       and t.kind = 'alert' and t.created_at > now() - v_window;
    if v_hosts < v_threshold then
      return null;
    end if;
    insert into ccm.incidents (alertname, summary)
    values (v_name, 'fleet-wide storm: ' || v_name || ' on ' || v_hosts || ' hosts within '
                    || ccm.setting_number('storm.fleet_window_s', 300) || ' s')
    returning id into v_incident;
    update ccm.tasks t set incident_id = v_incident
     where left(t.alertname, 200) = left(p_alertname, 200) and t.alertname = p_alertname
       and t.kind = 'alert' and t.created_at > now() - v_window and t.incident_id is null;
  else
    update ccm.tasks t set incident_id = v_incident where t.id = p_task_id;
  end if;
  update ccm.incidents i
     set last_alert_at = now(),
         task_count = (select count(*) from ccm.tasks t where t.incident_id = v_incident),
         host_count = (select count(distinct lower(t.host)) from ccm.tasks t where t.incident_id = v_incident),
         alert_count = (select coalesce(sum(t.alert_count), 0) from ccm.tasks t where t.incident_id = v_incident)
   where i.id = v_incident;
  return v_incident;
end
$$;

-- Ingest a batch of normalised alerts from one webhook delivery, in the caller's transaction.
-- Each element: {fingerprint, status, labels, annotations, startsAt, endsAt, generatorURL, raw}.
-- Returns one row per alert saying what became of it:
--   created | unrouted | absorbed | duplicate | already_resolved            (firing)
--   flapping_escalated | flapping                                          (firing, flapping)
--   cancelled | resolved | resolved_unmatched                              (resolved)
create or replace function ccm.ingest_alerts(p_source text, p_group_key text, p_alerts jsonb)
returns table (alert_id bigint, task_id uuid, outcome text, host text)
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_group_by jsonb := coalesce((select s.value from ccm.settings s where s.key = 'storm.group_by'),
                               '["alertname", "host", "mountpoint"]'::jsonb);
  v_group_window interval := make_interval(secs => ccm.setting_number('storm.group_window_s', 0)::double precision);
  v_max_flaps numeric := ccm.setting_number('flapping.max_flaps', 3);
  v_flap_window interval := make_interval(secs => ccm.setting_number('flapping.window_s', 3600)::double precision);
  v_raw_max integer := ccm.setting_number('ingest.raw_max_bytes', 65536)::integer;
  v_alert jsonb;
  v_fp text;
  v_status text;
  v_labels jsonb;
  v_annotations jsonb;
  v_alertname text;
  v_starts timestamptz;
  v_ends timestamptz;
  v_key text;
  v_cond text;
  v_dedup text;
  v_host text;
  v_agent uuid;
  v_raw jsonb;
  v_raw_text text;
  v_truncated boolean;
  v_alert_id bigint;
  v_inserted boolean;
  v_task_id uuid;
  v_task_status text;
  v_incident uuid;
  v_outcome text;
  v_started_runs integer;
  v_flap ccm.flapping_conditions%rowtype;
  v_flaps integer;
  v_bucket integer;
begin
  if jsonb_typeof(p_alerts) is distinct from 'array' then
    raise exception using errcode = '22023', message = 'p_alerts must be a JSON array';
  end if;

  -- Concurrent deliveries in a storm touch the same tasks in different orders and would deadlock.
  -- Take every lock this batch needs up front, in one global order: a bucket per condition and a
  -- bucket per alertname (fleet storm). At most 2,048 locks; unrelated conditions still run in parallel.
  for v_bucket in
    select distinct k from (
      select hashtext(coalesce(
               ccm.condition_key(v_group_by, e -> 'labels', left(ccm.alert_host(e -> 'labels'), 255)),
               e ->> 'fingerprint')) & 1023 as k
        from jsonb_array_elements(p_alerts) e
      union
      select 1024 + (hashtext(e -> 'labels' ->> 'alertname') & 1023)
        from jsonb_array_elements(p_alerts) e
    ) keys
    where k is not null
    order by k
  loop
    perform pg_advisory_xact_lock(4408141, v_bucket);  -- 4408141 = 'CCM': this function's lock space
  end loop;

  for v_alert in select value from jsonb_array_elements(p_alerts)
  loop
    if jsonb_typeof(v_alert) is distinct from 'object' then
      raise exception using errcode = '22023', message = 'each alert must be a JSON object';
    end if;
    v_fp := v_alert ->> 'fingerprint';
    v_status := v_alert ->> 'status';
    v_labels := coalesce(v_alert -> 'labels', '{}'::jsonb);
    v_annotations := coalesce(v_alert -> 'annotations', '{}'::jsonb);
    if jsonb_typeof(v_labels) <> 'object' or jsonb_typeof(v_annotations) <> 'object' then
      raise exception using errcode = '22023', message = 'labels and annotations must be JSON objects';
    end if;
    v_alertname := v_labels ->> 'alertname';
    v_starts := nullif(v_alert ->> 'startsAt', '')::timestamptz;
    v_ends := nullif(v_alert ->> 'endsAt', '')::timestamptz;
    -- Alertmanager sends the zero time for "no end".
    if v_ends < '1971-01-01'::timestamptz then
      v_ends := null;
    end if;
    if v_fp is null or v_fp = '' or v_status is null or v_status not in ('firing', 'resolved') then
      raise exception using errcode = '22023', message = 'alert needs a fingerprint and status firing|resolved';
    end if;
    v_key := ccm.bounded_key(p_source || '|' || v_fp || '|' || v_status || '|' || coalesce(v_starts::text, ''));
    v_host := left(ccm.alert_host(v_labels), 255);
    v_cond := ccm.condition_key(v_group_by, v_labels, v_host);
    v_dedup := ccm.bounded_key(coalesce('group:' || v_cond, 'fp:' || p_source || ':' || v_fp));
    v_task_id := null;
    v_outcome := null;

    v_raw := coalesce(v_alert -> 'raw', v_alert);
    v_raw_text := v_raw::text;
    v_truncated := octet_length(v_raw_text) > v_raw_max;
    if v_truncated then
      v_raw := jsonb_build_object('truncated', true, 'original_bytes', octet_length(v_raw_text),
                                  'head', left(v_raw_text, v_raw_max / 4));
    end if;

    insert into ccm.alerts as a (source, idempotency_key, fingerprint, status, alertname, host, labels,
                                 annotations, starts_at, ends_at, generator_url, group_key, outcome, raw,
                                 condition_key, raw_truncated)
    values (p_source, v_key, left(v_fp, 500), v_status, v_alertname, v_host, v_labels,
            v_annotations, v_starts, v_ends, v_alert ->> 'generatorURL', p_group_key, 'pending', v_raw,
            coalesce(v_cond, v_dedup), v_truncated)
    on conflict (idempotency_key) do update
      set receive_count = a.receive_count + 1, last_received_at = now()
    returning a.id, (a.xmax = 0), a.task_id into v_alert_id, v_inserted, v_task_id;

    if not v_inserted then
      -- Redelivery (repeat_interval, HA pair, sender retry): nothing new happens.
      if v_task_id is not null then
        update ccm.tasks t set alert_count = t.alert_count + 1, updated_at = now() where t.id = v_task_id;
      end if;
      alert_id := v_alert_id; task_id := v_task_id; outcome := 'duplicate'; host := v_host;
      return next;
      continue;
    end if;

    if v_status = 'firing' then
      if exists (select 1 from ccm.alerts r
                  where r.source = p_source and r.fingerprint = left(v_fp, 500) and r.status = 'resolved'
                    and r.starts_at is not distinct from v_starts) then
        -- The resolve overtook the firing notification: nothing to do any more.
        v_outcome := 'already_resolved';
      end if;

      -- Flapping: a condition already marked stays so until it has been quiet for the window.
      if v_outcome is null and v_max_flaps > 0 then
        select * into v_flap from ccm.flapping_conditions f where f.condition_key = coalesce(v_cond, v_dedup) for update;
        if found and v_flap.last_seen_at < now() - v_flap_window then
          delete from ccm.flapping_conditions f where f.condition_key = v_flap.condition_key;
        elsif found then
          update ccm.flapping_conditions f set last_seen_at = now() where f.condition_key = v_flap.condition_key;
          v_task_id := v_flap.escalation_task_id;
          update ccm.tasks t set alert_count = t.alert_count + 1, updated_at = now() where t.id = v_task_id;
          v_outcome := 'flapping';
        end if;
        if v_outcome is null then
          select count(*) into v_flaps from ccm.alerts r
           where r.condition_key = coalesce(v_cond, v_dedup) and r.status = 'resolved'
             and r.received_at > now() - v_flap_window;
          if v_flaps >= v_max_flaps then
            -- Stop what has not started yet; a running fix is left to finish (never killed mid-way).
            for v_task_id in
              select t.id from ccm.tasks t
               where t.dedup_key = v_dedup and t.status in ('unrouted', 'queued') for update
            loop
              update ccm.runs r
                 set status = 'cancelled', finished_at = now(), updated_at = now(), lease_expires_at = null,
                     summary = 'condition is flapping; automatic fixes stopped'
               where r.task_id = v_task_id and r.status in ('queued', 'claimed');
              update ccm.tasks t set status = 'cancelled', flapping = true, updated_at = now(),
                                     summary = 'condition is flapping; automatic fixes stopped'
               where t.id = v_task_id;
            end loop;
            v_agent := ccm.find_agent(v_host);
            insert into ccm.tasks as t (source, kind, status, dedup_key, host, agent_id, alertname, fingerprint,
                                        starts_at, labels, annotations, flapping, summary)
            values (p_source, 'alert', 'escalated', v_dedup, v_host, v_agent, v_alertname, left(v_fp, 500),
                    v_starts, v_labels, v_annotations, true,
                    'flapping: resolved ' || v_flaps || ' times within ' || extract(epoch from v_flap_window)::bigint
                    || ' s and fired again; automatic fixes stopped until it is quiet for that long; needs a human')
            returning t.id into v_task_id;
            insert into ccm.flapping_conditions as f (condition_key, alertname, host, flaps, escalation_task_id)
            values (coalesce(v_cond, v_dedup), v_alertname, v_host, v_flaps, v_task_id)
            on conflict (condition_key) do update
              set flaps = excluded.flaps, since = now(), last_seen_at = now(),
                  escalation_task_id = excluded.escalation_task_id;
            v_outcome := 'flapping_escalated';
          end if;
        end if;
      end if;

      if v_outcome is null then
        select t.id into v_task_id from ccm.tasks t
         where t.dedup_key = v_dedup and t.status in ('unrouted', 'queued', 'running', 'awaiting_approval')
         for update;
        if not found and v_group_window > interval '0' then
          -- Optional: a task that finished moments ago still absorbs its group (see storm.group_window_s).
          select t.id into v_task_id from ccm.tasks t
           where t.dedup_key = v_dedup and t.status not in ('cancelled')
             and t.updated_at > now() - v_group_window
           order by t.updated_at desc limit 1
           for update;
        end if;
        if v_task_id is not null then
          update ccm.tasks t set alert_count = t.alert_count + 1, updated_at = now() where t.id = v_task_id
          returning t.incident_id into v_incident;
          if v_incident is not null then
            update ccm.incidents i set alert_count = i.alert_count + 1, last_alert_at = now() where i.id = v_incident;
          end if;
          v_outcome := 'absorbed';
        else
          v_agent := ccm.find_agent(v_host);
          insert into ccm.tasks as t (source, kind, status, dedup_key, host, agent_id, alertname, fingerprint,
                                      starts_at, labels, annotations, summary)
          values (p_source, 'alert', case when v_agent is null then 'unrouted' else 'queued' end, v_dedup,
                  v_host, v_agent, v_alertname, left(v_fp, 500), v_starts, v_labels, v_annotations,
                  case when v_agent is null then
                    case when v_host is null then 'alert names no host (labels host, hostname, nodename, instance)'
                         else 'no enrolled agent matches host ' || v_host end
                  end)
          on conflict (dedup_key) where dedup_key is not null
                                    and status in ('unrouted', 'queued', 'running', 'awaiting_approval')
          do nothing
          returning t.id into v_task_id;
          if v_task_id is null then
            -- A concurrent delivery created it between our check and insert.
            select t.id into v_task_id from ccm.tasks t
             where t.dedup_key = v_dedup and t.status in ('unrouted', 'queued', 'running', 'awaiting_approval');
            update ccm.tasks t set alert_count = t.alert_count + 1, updated_at = now() where t.id = v_task_id;
            v_outcome := 'absorbed';
          else
            if v_agent is null then
              v_outcome := 'unrouted';
            else
              insert into ccm.runs (task_id, agent_id) values (v_task_id, v_agent);
              v_outcome := 'created';
            end if;
            perform ccm.link_fleet_storm(v_task_id, v_alertname);
          end if;
        end if;
      end if;
    else
      -- Resolved: find the task of this firing episode, else the active task of this condition.
      select f.task_id into v_task_id from ccm.alerts f
       where f.source = p_source and f.fingerprint = left(v_fp, 500) and f.status = 'firing'
         and f.starts_at is not distinct from v_starts and f.task_id is not null
       order by f.id desc limit 1;
      if v_task_id is null then
        select t.id into v_task_id from ccm.tasks t
         where t.dedup_key = v_dedup and t.status in ('unrouted', 'queued', 'running', 'awaiting_approval');
      end if;
      if v_task_id is null then
        v_outcome := 'resolved_unmatched';
      else
        select t.status into v_task_status from ccm.tasks t where t.id = v_task_id for update;
        update ccm.tasks t set resolved_at = coalesce(t.resolved_at, v_ends, now()), updated_at = now()
         where t.id = v_task_id;
        select count(*) into v_started_runs from ccm.runs r
         where r.task_id = v_task_id and r.status not in ('queued', 'claimed', 'cancelled', 'expired');
        if v_task_status in ('unrouted', 'queued') and v_started_runs = 0 then
          update ccm.runs r
             set status = 'cancelled', finished_at = now(), updated_at = now(), lease_expires_at = null,
                 summary = 'alert resolved before any agent started it'
           where r.task_id = v_task_id and r.status in ('queued', 'claimed');
          update ccm.tasks t set status = 'cancelled', summary = 'alert resolved before any agent started it'
           where t.id = v_task_id;
          v_outcome := 'cancelled';
        else
          v_outcome := 'resolved';
        end if;
      end if;
    end if;

    update ccm.alerts a set outcome = v_outcome, task_id = v_task_id where a.id = v_alert_id;
    alert_id := v_alert_id; task_id := v_task_id; outcome := v_outcome; host := v_host;
    return next;
  end loop;
end
$$;

revoke all on function ccm.setting_number(text, numeric) from public;
revoke all on function ccm.set_setting(text, jsonb) from public;
revoke all on function ccm.bounded_key(text) from public;
revoke all on function ccm.condition_key(jsonb, jsonb, text) from public;
revoke all on function ccm.link_fleet_storm(uuid, text) from public;
revoke all on function ccm.ingest_alerts(text, text, jsonb) from public;
revoke all on all tables in schema ccm from public;
