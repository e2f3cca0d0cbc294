-- Fleet broadcasts: one intent ("run package-update on every web server") fanned out at creation to
-- one task + run per matching agent, then released in waves (canary, batches) by
-- ccm.advance_broadcast (next migration). The three ways to create one (CLI, POST /v1/broadcasts, a
-- plain INSERT from Supabase Studio) are all this INSERT: the triggers below validate and expand it.
--
-- Run statuses added here:
--   held     created by a broadcast, not released yet: ccm.claim_runs only takes 'queued', so an
--            agent cannot claim it; release is held -> queued (which fires the NOTIFY/Realtime hint)
--   skipped  never released: the broadcast stopped (failure threshold) or the agent lacks the playbook
--   offline  released, but the agent did not claim it within the broadcast's offline_ttl_s
--   timeout  claimed, but no result within the broadcast's run_timeout_s (the agent's next lease
--            renewal answers 'timeout', so it stops)

alter table ccm.runs drop constraint runs_status_check;
alter table ccm.runs add constraint runs_status_check check (status in (
  'held', 'queued', 'claimed', 'running', 'awaiting_approval',
  'succeeded', 'failed', 'escalated', 'cancelled', 'expired', 'unknown',
  'skipped', 'offline', 'timeout'));
alter table ccm.tasks drop constraint tasks_status_check;
alter table ccm.tasks add constraint tasks_status_check check (status in (
  'unrouted', 'held', 'queued', 'running', 'awaiting_approval',
  'succeeded', 'failed', 'escalated', 'cancelled', 'unknown',
  'skipped', 'offline', 'timeout'));

create table ccm.broadcasts (
  id              uuid primary key default gen_random_uuid(),
  -- A playbook of the catalogue (built-in or operator YAML), run by name on every target; never label-matched.
  playbook        text not null,
  -- Validated structurally here (flat object of scalars); each agent validates them with the playbook's schema.
  params          jsonb not null default '{}'::jsonb,
  -- {all: true} | {hosts: [glob], labels: {k: v | [v, ...]}, exclude_hosts: [glob], exclude_labels: {k: v | [v, ...]}}
  selector        jsonb not null,
  -- Hosts released first, alone; any canary failure stops the broadcast.
  canary          integer not null default 1 check (canary >= 0),
  -- Size of each later wave: a count ('5') or a percent of the targeted hosts ('10%').
  batch           text not null default '10%',
  -- Failures tolerated before the broadcast stops: a count ('2') or a percent of targeted ('2%').
  max_failures    text not null default '0',
  -- Runs of one wave in flight at once (null: the whole wave).
  max_concurrency integer check (max_concurrency is null or max_concurrency >= 1),
  -- Every run is a dry run: the agents report what they would do and change nothing.
  dry_run         boolean not null default false,
  -- A released run nobody claimed within this many seconds counts as `offline` (not failed).
  offline_ttl_s   integer not null default 600 check (offline_ttl_s >= 1),
  -- A claimed run without a result within this many seconds counts as `timeout` (a failure).
  run_timeout_s   integer not null default 1800 check (run_timeout_s >= 1),
  -- running -> paused <-> running; running -> stopped (threshold); any unfinished -> cancelled; running -> completed
  status          text not null default 'running'
                  check (status in ('running', 'paused', 'stopped', 'cancelled', 'completed')),
  stop_reason     text,
  -- Hosts the selector matched at creation: the fixed denominator. Set by the expansion trigger.
  targeted        integer not null default 0,
  -- Hosts per batch wave, computed at expansion from `batch`.
  batch_size      integer,
  -- "49/50 succeeded; web-17 failed: E: Unable to locate package x (exit 100)", written when finished.
  summary         text,
  created_by      text not null default current_user,
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  -- Every run reached a final state (after completed, stopped or cancelled): summary written, Slack enqueued.
  finished_at     timestamptz,
  constraint broadcasts_batch_format check (batch ~ '^[1-9][0-9]{0,6}%?$'),
  constraint broadcasts_max_failures_format check (max_failures ~ '^[0-9]{1,7}(\.[0-9]+)?%?$')
);
create index broadcasts_unfinished_idx on ccm.broadcasts (created_at) where finished_at is null;
alter table ccm.broadcasts enable row level security;

alter table ccm.tasks
  -- The broadcast this task belongs to (one task per targeted host).
  add column broadcast_id uuid references ccm.broadcasts (id) on delete cascade,
  -- 0 = canary, 1.. = batch waves; null when the host was skipped at creation.
  add column broadcast_wave integer,
  -- Order within the broadcast (canary first).
  add column broadcast_position integer,
  -- When the rollout released this host's run (held -> queued); the offline TTL counts from here.
  add column released_at timestamptz;
create index tasks_broadcast_idx on ccm.tasks (broadcast_id, broadcast_wave, broadcast_position) where broadcast_id is not null;

-- A host-name glob (* and ?) as a LIKE pattern; LIKE's own wildcards in the glob are literal.
create function ccm.glob_to_like(p_glob text)
returns text
language sql
immutable
set search_path = ''
as $$
  select replace(replace(replace(replace(replace(lower(p_glob), '\', '\\'), '%', '\%'), '_', '\_'), '*', '%'), '?', '_')
$$;

-- Does a label condition set ({k: v | [v, ...]}) hold for these labels? Every key must match.
create function ccm.labels_match(p_cond jsonb, p_labels jsonb)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select coalesce(bool_and(
           case jsonb_typeof(c.value)
             when 'array' then (p_labels ->> c.key) in (select jsonb_array_elements_text(c.value))
             else (p_labels ->> c.key) = (c.value #>> '{}')
           end), true)
    from jsonb_each(coalesce(p_cond, '{}'::jsonb)) c
$$;

-- Does a label condition set hold for ANY of its keys (exclusions: one matching label excludes)?
create function ccm.labels_match_any(p_cond jsonb, p_labels jsonb)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select coalesce(bool_or(
           case jsonb_typeof(c.value)
             when 'array' then (p_labels ->> c.key) in (select jsonb_array_elements_text(c.value))
             else (p_labels ->> c.key) = (c.value #>> '{}')
           end), false)
    from jsonb_each(coalesce(p_cond, '{}'::jsonb)) c
$$;

-- Does any glob match the host or one of its aliases?
create function ccm.hosts_match(p_globs jsonb, p_host text, p_aliases text[])
returns boolean
language sql
immutable
set search_path = ''
as $$
  select exists (
    select 1 from jsonb_array_elements_text(coalesce(p_globs, '[]'::jsonb)) g
     where lower(p_host) like ccm.glob_to_like(g)
        or exists (select 1 from unnest(p_aliases) a where lower(a) like ccm.glob_to_like(g)))
$$;

/* Does a broadcast selector pick this agent? Included by all/hosts/labels (hosts AND labels when both
   are given), then removed by any exclusion. */
create function ccm.selector_matches(p_selector jsonb, p_host text, p_aliases text[], p_labels jsonb)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select (coalesce((p_selector ->> 'all')::boolean, false)
          or ((jsonb_array_length(coalesce(p_selector -> 'hosts', '[]')) = 0
               or ccm.hosts_match(p_selector -> 'hosts', p_host, p_aliases))
              and ccm.labels_match(p_selector -> 'labels', p_labels)))
     and not ccm.hosts_match(p_selector -> 'exclude_hosts', p_host, p_aliases)
     and not ccm.labels_match_any(p_selector -> 'exclude_labels', p_labels)
$$;

-- Is v a label condition object ({k: "v" | ["v", ...]}) with sane sizes?
create function ccm.valid_label_conditions(v jsonb)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select v is null or (
    jsonb_typeof(v) = 'object'
    and (select count(*) from jsonb_object_keys(v)) <= 50
    and not exists (
      select 1 from jsonb_each(v) c
       where length(c.key) not between 1 and 200
          or not (case jsonb_typeof(c.value)
                    when 'string' then length(c.value #>> '{}') <= 500
                    when 'array' then jsonb_array_length(c.value) between 1 and 100
                                      and not jsonb_path_exists(c.value, '$[*] ? (@.type() != "string")')
                    else false end)))
$$;

-- Is v an array of 1..200 host globs?
create function ccm.valid_host_globs(v jsonb)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select v is null or (
    jsonb_typeof(v) = 'array' and jsonb_array_length(v) <= 200
    and not jsonb_path_exists(v, '$[*] ? (@.type() != "string")')
    and not exists (select 1 from jsonb_array_elements_text(v) g where g !~ '^[A-Za-z0-9*?][A-Za-z0-9*?._-]{0,252}$'))
$$;

-- BEFORE INSERT: refuse anything that will never be valid, with a reason a human can act on.
create function ccm.validate_broadcast()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  v_key text;
  v_pct numeric;
begin
  if new.playbook in ('command', 'ad-hoc', 'adhoc', 'shell', 'exec') then
    raise exception using errcode = '22023',
      message = 'ad-hoc commands need an operator signature (ccm keys generate; not wired into broadcast yet)';
  end if;
  if new.playbook is null or new.playbook !~ '^[a-z0-9][a-z0-9._-]{0,63}$' then
    raise exception using errcode = '22023',
      message = 'playbook must be a catalogue playbook name (lowercase letters, digits, . _ -), got ' || coalesce(left(new.playbook, 80), 'null');
  end if;
  if new.playbook = 'unknown' then
    raise exception using errcode = '22023', message = 'the unknown playbook only gathers evidence for an alert; it cannot be broadcast';
  end if;

  if new.params is null or jsonb_typeof(new.params) <> 'object' then
    raise exception using errcode = '22023', message = 'params must be a JSON object';
  end if;
  if (select count(*) from jsonb_object_keys(new.params)) > 32 then
    raise exception using errcode = '22023', message = 'at most 32 params';
  end if;
  for v_key in select k from jsonb_object_keys(new.params) k loop
    if v_key !~ '^[a-z_][a-z0-9_]{0,63}$' then
      raise exception using errcode = '22023', message = 'param name ' || left(v_key, 80) || ' must match ^[a-z_][a-z0-9_]{0,63}$';
    end if;
    if jsonb_typeof(new.params -> v_key) not in ('string', 'number', 'boolean')
       or length(new.params ->> v_key) > 1024 then
      raise exception using errcode = '22023', message = 'param ' || v_key || ' must be a string, number or boolean of at most 1024 characters';
    end if;
  end loop;

  if new.selector is null or jsonb_typeof(new.selector) <> 'object' then
    raise exception using errcode = '22023', message = 'selector must be a JSON object, e.g. {"labels": {"role": "web"}} or {"all": true}';
  end if;
  select k into v_key from jsonb_object_keys(new.selector) k
   where k not in ('all', 'hosts', 'labels', 'exclude_hosts', 'exclude_labels') limit 1;
  if v_key is not null then
    raise exception using errcode = '22023',
      message = 'unknown selector key ' || left(v_key, 80) || ' (expected all, hosts, labels, exclude_hosts, exclude_labels)';
  end if;
  if new.selector ? 'all' and jsonb_typeof(new.selector -> 'all') <> 'boolean' then
    raise exception using errcode = '22023', message = 'selector.all must be true or false';
  end if;
  if not (ccm.valid_host_globs(new.selector -> 'hosts') and ccm.valid_host_globs(new.selector -> 'exclude_hosts')) then
    raise exception using errcode = '22023', message = 'selector.hosts and exclude_hosts must be arrays of host name globs (letters, digits, . _ - * ?)';
  end if;
  if not (ccm.valid_label_conditions(new.selector -> 'labels') and ccm.valid_label_conditions(new.selector -> 'exclude_labels')) then
    raise exception using errcode = '22023', message = 'selector.labels and exclude_labels must map label names to a value or a non-empty list of values';
  end if;
  -- An empty selector never means "everything": the whole fleet must be asked for by name.
  if not coalesce((new.selector ->> 'all')::boolean, false)
     and jsonb_array_length(coalesce(new.selector -> 'hosts', '[]')) = 0
     and (select count(*) from jsonb_object_keys(coalesce(new.selector -> 'labels', '{}'))) = 0 then
    raise exception using errcode = '22023', message = 'selector selects nothing: give hosts, labels, or {"all": true} for the whole fleet';
  end if;

  if right(new.batch, 1) = '%' and left(new.batch, -1)::numeric > 100 then
    raise exception using errcode = '22023', message = 'batch percent must be at most 100%';
  end if;
  if right(new.max_failures, 1) = '%' then
    v_pct := left(new.max_failures, -1)::numeric;
    if v_pct > 100 then
      raise exception using errcode = '22023', message = 'max_failures percent must be at most 100%';
    end if;
  end if;

  -- Whoever inserts starts a running broadcast; the rest is computed.
  new.status := 'running';
  new.stop_reason := null;
  new.targeted := 0;
  new.summary := null;
  new.finished_at := null;
  new.created_at := now();
  new.updated_at := now();
  return new;
end
$$;

create trigger broadcasts_validate
  before insert on ccm.broadcasts
  for each row execute function ccm.validate_broadcast();

-- AFTER INSERT: one task + run per matching agent, held; then the first wave is released.
-- Agents that do not offer the playbook get a `skipped` run (still counted in the denominator).
-- Order: agents seen within the offline TTL first (a canary on a dead host proves nothing), then by name.
create function ccm.expand_broadcast()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_targeted integer;
  v_eligible integer;
  v_batch integer;
  v_alertname text := 'broadcast:' || new.playbook;
begin
  select count(*), count(*) filter (where new.playbook = any (a.playbooks)) into v_targeted, v_eligible
    from ccm.agents a
   where ccm.selector_matches(new.selector, a.host, a.aliases, a.labels) and a.token_revoked_at is null;
  if v_targeted = 0 then
    raise exception using errcode = '22023', message = 'selector matches no enrolled agent: ' || new.selector::text;
  end if;
  if v_eligible = 0 then
    raise exception using errcode = '22023',
      message = 'none of the ' || v_targeted || ' selected agents offers playbook ' || new.playbook || ' (see ccm.agents.playbooks)';
  end if;
  v_batch := case when right(new.batch, 1) = '%'
                  then greatest(1, ceil(v_eligible * left(new.batch, -1)::numeric / 100)::integer)
                  else new.batch::integer end;

  with targets as (
    select a.id as agent_id, a.host, new.playbook = any (a.playbooks) as offers,
           row_number() over (order by (new.playbook = any (a.playbooks)) desc,
                                       (a.last_seen > now() - make_interval(secs => new.offline_ttl_s)) desc,
                                       lower(a.host)) as pos
      from ccm.agents a
     where ccm.selector_matches(new.selector, a.host, a.aliases, a.labels) and a.token_revoked_at is null
  )
  insert into ccm.tasks (source, kind, status, host, agent_id, alertname, dry_run, summary,
                         broadcast_id, broadcast_wave, broadcast_position)
  select 'broadcast', 'broadcast', case when t.offers then 'held' else 'skipped' end, t.host, t.agent_id, v_alertname,
         case when new.dry_run then true end,
         case when t.offers then null else 'skipped: agent does not offer playbook ' || new.playbook end,
         new.id,
         case when not t.offers then null
              when t.pos <= new.canary then 0
              else 1 + (t.pos - new.canary - 1) / v_batch end,
         t.pos
    from targets t;

  insert into ccm.runs (task_id, agent_id, status, playbook, summary, finished_at)
  select t.id, t.agent_id, t.status, new.playbook, t.summary, case when t.status = 'skipped' then now() end
    from ccm.tasks t where t.broadcast_id = new.id;

  update ccm.broadcasts b set targeted = v_targeted, batch_size = v_batch where b.id = new.id;
  perform ccm.advance_broadcast(new.id);
  return null;
end
$$;

create trigger broadcasts_expand
  after insert on ccm.broadcasts
  for each row execute function ccm.expand_broadcast();

-- Broadcast runs are reported once, by the broadcast's summary: no Slack message or page per host.
create function ccm.suppress_broadcast_run_notifications()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if new.task_id is not null
     and new.kind in ('run_finished', 'approval_requested', 'pd_trigger', 'pd_resolve', 'alert_resolved')
     and exists (select 1 from ccm.tasks t where t.id = new.task_id and t.broadcast_id is not null) then
    return null;
  end if;
  return new;
end
$$;

create trigger notifications_suppress_broadcast_runs
  before insert on ccm.notifications
  for each row execute function ccm.suppress_broadcast_run_notifications();

-- run_context (from the playbook engine migration) plus the broadcast a run belongs to: the agent runs
-- exactly that playbook with those params, never a label-matched one.
create or replace function ccm.run_context(p_run_id uuid, p_agent_id uuid)
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
                         where a.run_id = r.approved_from and a.decision = 'approved'),
           'broadcast', (select jsonb_build_object('id', b.id, 'playbook', b.playbook, 'params', b.params,
                                                   'dry_run', b.dry_run, 'created_by', b.created_by)
                           from ccm.broadcasts b where b.id = t.broadcast_id))
    from ccm.runs r join ccm.tasks t on t.id = r.task_id
   where r.id = p_run_id and r.agent_id = p_agent_id
$$;

revoke all on function
  ccm.glob_to_like(text),
  ccm.labels_match(jsonb, jsonb),
  ccm.labels_match_any(jsonb, jsonb),
  ccm.hosts_match(jsonb, text, text[]),
  ccm.selector_matches(jsonb, text, text[], jsonb),
  ccm.valid_label_conditions(jsonb),
  ccm.valid_host_globs(jsonb),
  ccm.validate_broadcast(),
  ccm.expand_broadcast(),
  ccm.suppress_broadcast_run_notifications(),
  ccm.run_context(uuid, uuid)
from public;
revoke all on ccm.broadcasts from public;
