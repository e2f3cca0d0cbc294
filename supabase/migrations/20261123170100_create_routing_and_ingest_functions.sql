-- Routing an alert to a host, and idempotent alert ingest.

-- `instance` without its port: "web-1:9100" -> "web-1", "[::1]:9100" -> "::1",
-- "https://web-1.example.com:8443/x" -> "web-1.example.com".
create function ccm.strip_port(p_instance text)
returns text
language sql
immutable
set search_path = ''
as $$
  select case
    when p_instance is null or p_instance = '' then null
    when p_instance ~* '^[a-z][a-z0-9+.-]*://' then
      trim(both '[]' from substring(p_instance from '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/]*@)?(\[[^\]]*\]|[^:/?#]*)'))
    when p_instance ~ '^\[.*\](:[0-9]+)?$' then substring(p_instance from '^\[(.*)\]')
    when p_instance ~ '^[^:]+:[0-9]+$' then split_part(p_instance, ':', 1)
    else p_instance
  end
$$;

-- The host an alert names, by label precedence: host, hostname, nodename, else instance without port.
create function ccm.alert_host(p_labels jsonb)
returns text
language sql
immutable
set search_path = ''
as $$
  select coalesce(
    nullif(trim(p_labels ->> 'host'), ''),
    nullif(trim(p_labels ->> 'hostname'), ''),
    nullif(trim(p_labels ->> 'nodename'), ''),
    ccm.strip_port(nullif(trim(p_labels ->> 'instance'), ''))
  )
$$;

-- The agent a host name belongs to: exact host name, then an alias, then an unambiguous
-- short-name match (alert says web-1, agent is web-1.example.com). Null when no agent or more than one could be meant.
create function ccm.find_agent(p_host text)
returns uuid
language plpgsql
stable
set search_path = ''
as $$
declare
  v_host text := lower(trim(p_host));
  v_id uuid;
  v_ids uuid[];
begin
  if v_host is null or v_host = '' then
    return null;
  end if;
  select a.id into v_id from ccm.agents a where lower(a.host) = v_host;
  if found then
    return v_id;
  end if;
  select array_agg(a.id) into v_ids
    from ccm.agents a
   where exists (select 1 from unnest(a.aliases) x where lower(x) = v_host);
  if cardinality(v_ids) = 1 then
    return v_ids[1];
  elsif cardinality(v_ids) > 1 then
    return null;
  end if;
  -- IP addresses never match by short name.
  if v_host ~ '^[0-9.]+$' or v_host like '%:%' then
    return null;
  end if;
  -- Only a bare short name may match an FQDN agent; an FQDN never matches a different domain's
  -- short name (web-1.staging must not act on web-1 in prod): list such names as aliases instead.
  if position('.' in v_host) > 0 then
    return null;
  end if;
  select array_agg(a.id) into v_ids
    from ccm.agents a
   where split_part(lower(a.host), '.', 1) = v_host;
  if cardinality(v_ids) = 1 then
    return v_ids[1];
  end if;
  return null;
end
$$;

-- Ingest a batch of normalised alerts from one webhook delivery, in the caller's transaction.
-- Each element: {fingerprint, status, labels, annotations, startsAt, endsAt, generatorURL, raw}.
-- Returns one row per alert saying what became of it.
create function ccm.ingest_alerts(p_source text, p_group_key text, p_alerts jsonb)
returns table (alert_id bigint, task_id uuid, outcome text, host text)
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_alert jsonb;
  v_fp text;
  v_status text;
  v_labels jsonb;
  v_starts timestamptz;
  v_ends timestamptz;
  v_key text;
  v_dedup text;
  v_host text;
  v_agent uuid;
  v_alert_id bigint;
  v_inserted boolean;
  v_task_id uuid;
  v_task_status text;
  v_outcome text;
  v_started_runs integer;
begin
  if jsonb_typeof(p_alerts) is distinct from 'array' then
    raise exception using errcode = '22023', message = 'p_alerts must be a JSON array';
  end if;

  for v_alert in select value from jsonb_array_elements(p_alerts)
  loop
    v_fp := v_alert ->> 'fingerprint';
    v_status := v_alert ->> 'status';
    v_labels := coalesce(v_alert -> 'labels', '{}'::jsonb);
    v_starts := nullif(v_alert ->> 'startsAt', '')::timestamptz;
    v_ends := nullif(v_alert ->> 'endsAt', '')::timestamptz;
    -- Alertmanager sends the zero time for "no end".
    if v_ends < '1971-01-01'::timestamptz then
      v_ends := null;
    end if;
    if v_fp is null or v_status not in ('firing', 'resolved') then
      raise exception using errcode = '22023', message = 'alert needs a fingerprint and status firing|resolved';
    end if;
    v_key := p_source || '|' || v_fp || '|' || v_status || '|' || coalesce(v_starts::text, '');
    v_dedup := p_source || ':' || v_fp;
    v_host := ccm.alert_host(v_labels);
    v_task_id := null;

    insert into ccm.alerts as a (source, idempotency_key, fingerprint, status, alertname, host, labels,
                                 annotations, starts_at, ends_at, generator_url, group_key, outcome, raw)
    values (p_source, v_key, v_fp, v_status, v_labels ->> 'alertname', v_host, v_labels,
            coalesce(v_alert -> 'annotations', '{}'::jsonb), v_starts, v_ends,
            v_alert ->> 'generatorURL', p_group_key, 'pending', coalesce(v_alert -> 'raw', v_alert))
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
                  where r.source = p_source and r.fingerprint = v_fp and r.status = 'resolved'
                    and r.starts_at is not distinct from v_starts) then
        -- The resolve overtook the firing notification: nothing to do any more.
        v_outcome := 'already_resolved';
      else
        select t.id into v_task_id from ccm.tasks t
         where t.dedup_key = v_dedup and t.status in ('unrouted', 'queued', 'running', 'awaiting_approval')
         for update;
        if found then
          update ccm.tasks t set alert_count = t.alert_count + 1, updated_at = now() where t.id = v_task_id;
          v_outcome := 'absorbed';
        else
          v_agent := ccm.find_agent(v_host);
          insert into ccm.tasks as t (source, kind, status, dedup_key, host, agent_id, alertname, fingerprint,
                                      starts_at, labels, annotations, summary)
          values (p_source, 'alert', case when v_agent is null then 'unrouted' else 'queued' end, v_dedup,
                  v_host, v_agent, v_labels ->> 'alertname', v_fp, v_starts, v_labels,
                  coalesce(v_alert -> 'annotations', '{}'::jsonb),
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
          elsif v_agent is null then
            v_outcome := 'unrouted';
          else
            insert into ccm.runs (task_id, agent_id) values (v_task_id, v_agent);
            v_outcome := 'created';
          end if;
        end if;
      end if;
    else
      -- Resolved: find the task of this firing episode, else the active task of this condition.
      select f.task_id into v_task_id from ccm.alerts f
       where f.source = p_source and f.fingerprint = v_fp and f.status = 'firing'
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
