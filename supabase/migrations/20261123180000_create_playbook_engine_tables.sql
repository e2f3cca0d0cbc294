-- Playbook engine state: confidence on runs, track record, approvals, fleet controls
-- (pause switch, maintenance windows, remediation budgets). Functions are in the next migration.

alter table ccm.runs
  -- Score in [0,1], band (auto | approve | escalate) and every factor that made it.
  add column confidence jsonb,
  -- Actions the playbook proposed after diagnosis: [{action, target, detail}].
  add column proposal jsonb,
  -- Set on the run an approval created: the awaiting_approval run it continues.
  add column approved_from uuid references ccm.runs (id) on delete set null,
  -- When the engine passed the rails and began to change the host (budget and concurrency count these).
  add column remediation_started_at timestamptz,
  -- Host group the agent belonged to (track record key).
  add column host_group text,
  -- success | failure once a verified outcome was added to ccm.playbook_stats (never twice per run).
  add column outcome text check (outcome in ('success', 'failure'));
create index runs_remediation_idx on ccm.runs (playbook, agent_id, remediation_started_at)
  where remediation_started_at is not null;
create index runs_approved_from_idx on ccm.runs (approved_from) where approved_from is not null;

-- Forces a dry run for one task (set by an operator or a broadcast); null = the agent's setting.
alter table ccm.tasks add column dry_run boolean;

-- Verified outcomes per playbook x alert class x host group; confidence reads a Beta posterior from it.
create table ccm.playbook_stats (
  playbook        text not null,
  alert_class     text not null,
  host_group      text not null,
  successes       integer not null default 0 check (successes >= 0),
  failures        integer not null default 0 check (failures >= 0),
  last_success_at timestamptz,
  last_failure_at timestamptz,
  updated_at      timestamptz not null default now(),
  primary key (playbook, alert_class, host_group)
);
alter table ccm.playbook_stats enable row level security;

-- One row per run that stopped at awaiting_approval. The first decision wins.
create table ccm.approvals (
  run_id              uuid primary key references ccm.runs (id) on delete cascade,
  task_id             uuid not null references ccm.tasks (id) on delete cascade,
  proposal            jsonb not null default '[]'::jsonb,
  confidence          jsonb,
  requested_at        timestamptz not null default now(),
  decision            text check (decision in ('approved', 'rejected')),
  decided_by          text,
  reason              text,
  decided_at          timestamptz,
  -- The run queued by an approval; the agent resumes there with the approved proposal.
  continuation_run_id uuid references ccm.runs (id) on delete set null,
  constraint approvals_decided_complete check (
    (decision is null and decided_by is null and decided_at is null)
    or (decision is not null and decided_by is not null and decided_at is not null))
);
create index approvals_pending_idx on ccm.approvals (requested_at) where decision is null;
alter table ccm.approvals enable row level security;

-- The fleet-wide pause switch: one row.
create table ccm.fleet_controls (
  id         boolean primary key default true check (id),
  paused     boolean not null default false,
  changed_by text,
  reason     text,
  changed_at timestamptz not null default now()
);
insert into ccm.fleet_controls (id, paused) values (true, false);
alter table ccm.fleet_controls enable row level security;

-- Maintenance windows: selector (host names, and labels the agent must all have) + time range.
-- Empty hosts and labels select the whole fleet. mode: wait (remediation waits for the end) or skip.
create table ccm.maintenance_windows (
  id         uuid primary key default gen_random_uuid(),
  name       text not null,
  hosts      text[] not null default '{}',
  labels     jsonb not null default '{}'::jsonb check (jsonb_typeof(labels) = 'object'),
  starts_at  timestamptz not null,
  ends_at    timestamptz not null,
  mode       text not null default 'wait' check (mode in ('wait', 'skip')),
  created_by text,
  reason     text,
  created_at timestamptz not null default now(),
  constraint maintenance_windows_range check (ends_at > starts_at)
);
create index maintenance_windows_ends_idx on ccm.maintenance_windows (ends_at);
alter table ccm.maintenance_windows enable row level security;

-- Remediation budgets per playbook; the row '*' is the default for playbooks without their own.
create table ccm.remediation_budgets (
  playbook       text primary key,
  -- The same playbook on the same host at most this many times per `per_interval` ...
  max_per_host   integer not null check (max_per_host >= 0),
  per_interval   interval not null check (per_interval > interval '0'),
  -- ... and at most this many remediations of the playbook running fleet-wide at once.
  max_concurrent integer not null check (max_concurrent >= 1),
  updated_by     text,
  updated_at     timestamptz not null default now()
);
insert into ccm.remediation_budgets (playbook, max_per_host, per_interval, max_concurrent)
values ('*', 3, interval '24 hours', 5);
alter table ccm.remediation_budgets enable row level security;

revoke all on all tables in schema ccm from public;
