-- Signed ad-hoc commands (issues 5 and 6). A broadcast of playbook `command` carries the operator's
-- argv in ccm.broadcasts.command; after fan-out the CLI signs each host's task (ed25519 over task id,
-- argv, target host, expiry, nonce, key id; packages/security) and stores the signed command in
-- ccm.tasks.command, in the same transaction as the INSERT, so no agent can claim a run before its
-- signature exists. The database does not verify signatures (it holds no keys): each agent does, with
-- its trusted_command_keys, and refuses unsigned, untrusted, altered, expired or replayed commands.
-- Agents offer `command` (ccm.agents.playbooks) only when they trust at least one key, so hosts that
-- would refuse anyway are `skipped` at creation.

alter table ccm.broadcasts
  -- {argv: [string], expires_at: timestamptz text, key_id: text}: what the operator asked for (unsigned, for display).
  add column command jsonb;
alter table ccm.tasks
  -- The signed command for this host: {taskId, argv, target, expiresAt, nonce, keyId, signature}.
  add column command jsonb check (command is null or jsonb_typeof(command) = 'object');

-- BEFORE INSERT validation, as in 20261123184000 but `command` with an argv is now accepted.
create or replace function ccm.validate_broadcast()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  v_key text;
  v_pct numeric;
begin
  if new.playbook = 'command' then
    if new.command is null or jsonb_typeof(new.command) <> 'object' or jsonb_typeof(new.command -> 'argv') is distinct from 'array'
       or jsonb_array_length(new.command -> 'argv') not between 1 and 256
       or jsonb_path_exists(new.command -> 'argv', '$[*] ? (@.type() != "string")') then
      raise exception using errcode = '22023',
        message = 'a command broadcast needs command.argv: a non-empty array of at most 256 strings (ccm broadcast command --key … -- argv…)';
    end if;
    if new.params <> '{}'::jsonb then
      raise exception using errcode = '22023', message = 'a command broadcast takes no params (the argv is the command)';
    end if;
  elsif new.playbook in ('ad-hoc', 'adhoc', 'shell', 'exec') then
    raise exception using errcode = '22023',
      message = 'ad-hoc commands are broadcast as playbook command with an argv signed per host (ccm broadcast command --key … -- argv…)';
  elsif new.command is not null then
    raise exception using errcode = '22023', message = 'command is only for playbook command';
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


-- run_context plus the task's signed command (null for everything but command broadcasts).
create or replace function ccm.run_context(p_run_id uuid, p_agent_id uuid)
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select jsonb_build_object(
           'task_dry_run', t.dry_run,
           'command', t.command,
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

revoke all on function ccm.validate_broadcast(), ccm.run_context(uuid, uuid) from public;
