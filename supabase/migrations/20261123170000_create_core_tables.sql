-- CCM core schema: agents, alerts, tasks, runs, run_steps.
-- Everything lives in the `ccm` schema so it never collides with an application's `public`.
-- All state transitions are SQL functions (see the *_functions migrations); tables are
-- written only through them. RLS is enabled on every table; no policy is granted here, so
-- only the table owner (migrations, SECURITY DEFINER functions) and superusers see rows.

create schema if not exists ccm;

create extension if not exists pgcrypto with schema public;

-- One row per enrolled host.
create table ccm.agents (
  id          uuid primary key default gen_random_uuid(),
  host        text not null,
  aliases     text[] not null default '{}',
  labels      jsonb not null default '{}'::jsonb,
  facts       jsonb not null default '{}'::jsonb,
  version     text,
  playbooks   text[] not null default '{}',
  enrolled_at timestamptz not null default now(),
  last_seen   timestamptz not null default now(),
  constraint agents_host_not_blank check (length(trim(host)) > 0)
);
create unique index agents_host_key on ccm.agents (lower(host));
create index agents_aliases_idx on ccm.agents using gin (aliases);
alter table ccm.agents enable row level security;

-- One row per task: a unit of intent (from an alert, a broadcast, or an operator).
create table ccm.tasks (
  id          uuid primary key default gen_random_uuid(),
  source      text not null,                 -- alertmanager | grafana | elastic | operator | broadcast
  kind        text not null default 'alert', -- alert | operator | broadcast
  status      text not null,
  dedup_key   text,                          -- one active task per firing condition per host
  host        text,                          -- host the alert named (even when no agent matched)
  agent_id    uuid references ccm.agents (id) on delete set null,
  alertname   text,
  fingerprint text,
  starts_at   timestamptz,
  labels      jsonb not null default '{}'::jsonb,
  annotations jsonb not null default '{}'::jsonb,
  alert_count integer not null default 1,    -- deliveries of this condition absorbed by the task
  resolved_at timestamptz,                   -- when the source said the condition ended
  summary     text,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now(),
  constraint tasks_status_check check (status in (
    'unrouted', 'queued', 'running', 'awaiting_approval',
    'succeeded', 'failed', 'escalated', 'cancelled', 'unknown'))
);
create unique index tasks_active_dedup_key on ccm.tasks (dedup_key)
  where dedup_key is not null and status in ('unrouted', 'queued', 'running', 'awaiting_approval');
create index tasks_created_at_idx on ccm.tasks (created_at desc);
create index tasks_unrouted_host_idx on ccm.tasks (lower(host)) where status = 'unrouted';
alter table ccm.tasks enable row level security;

-- Every alert as received; the idempotency key collapses redeliveries (repeat_interval, HA pairs).
create table ccm.alerts (
  id              bigint generated always as identity primary key,
  source          text not null,
  idempotency_key text not null,             -- source | fingerprint | status | startsAt
  fingerprint     text not null,
  status          text not null check (status in ('firing', 'resolved')),
  alertname       text,
  host            text,
  labels          jsonb not null default '{}'::jsonb,
  annotations     jsonb not null default '{}'::jsonb,
  starts_at       timestamptz,
  ends_at         timestamptz,
  generator_url   text,
  group_key       text,
  task_id         uuid references ccm.tasks (id) on delete set null,
  outcome         text not null,             -- what ingest did with it: created | duplicate | cancelled | resolved | unrouted | ...
  receive_count   integer not null default 1,
  raw             jsonb not null,
  received_at     timestamptz not null default now(),
  last_received_at timestamptz not null default now()
);
create unique index alerts_idempotency_key on ccm.alerts (idempotency_key);
create index alerts_fingerprint_idx on ccm.alerts (source, fingerprint, starts_at);
create index alerts_task_idx on ccm.alerts (task_id);
alter table ccm.alerts enable row level security;

-- A task on one agent. Re-queues after a lost lease make a new row (attempt + 1).
create table ccm.runs (
  id               uuid primary key default gen_random_uuid(),
  task_id          uuid not null references ccm.tasks (id) on delete cascade,
  agent_id         uuid not null references ccm.agents (id) on delete cascade,
  status           text not null default 'queued',
  attempt          integer not null default 1,
  playbook         text,
  idempotent       boolean,                  -- declared by the agent when it starts the playbook
  dry_run          boolean,
  lease_expires_at timestamptz,
  claimed_at       timestamptz,
  started_at       timestamptz,
  finished_at      timestamptz,
  summary          text,
  result           jsonb,
  error            text,
  created_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now(),
  constraint runs_status_check check (status in (
    'queued', 'claimed', 'running', 'awaiting_approval',
    'succeeded', 'failed', 'escalated', 'cancelled', 'expired', 'unknown'))
);
create index runs_claimable_idx on ccm.runs (agent_id, created_at) where status = 'queued';
create index runs_lease_idx on ccm.runs (lease_expires_at) where status in ('claimed', 'running');
create index runs_task_idx on ccm.runs (task_id);
alter table ccm.runs enable row level security;

-- Audit trail: one row per action, written before it runs and completed after.
create table ccm.run_steps (
  id          bigint generated always as identity primary key,
  run_id      uuid not null references ccm.runs (id) on delete cascade,
  seq         integer not null,
  phase       text not null check (phase in ('diagnose', 'remediate', 'verify', 'report')),
  action      text not null,
  args        jsonb not null default '{}'::jsonb,
  status      text not null default 'started'
              check (status in ('started', 'ok', 'failed', 'skipped', 'dry_run', 'interrupted')),
  detail      text,
  data        jsonb,
  exit_code   integer,
  duration_ms integer,
  output_tail text,
  started_at  timestamptz not null default now(),
  finished_at timestamptz,
  unique (run_id, seq)
);
alter table ccm.run_steps enable row level security;
