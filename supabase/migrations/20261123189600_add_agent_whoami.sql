-- Which host a token belongs to, with no side effect (agent_heartbeat would touch last_seen):
-- `ccm agent check` on a host verifies its token with the anon key, as the agent will call.
create function ccm.agent_whoami(p_token text)
returns text
language sql
stable
security definer
set search_path = ''
as $$
  select a.host from ccm.agents a where a.id = ccm.agent_for_token(p_token)
$$;

revoke all on function ccm.agent_whoami(text) from public;

do $$
declare
  v_role text;
begin
  foreach v_role in array array['anon', 'service_role'] loop
    if exists (select 1 from pg_roles where rolname = v_role) then
      execute format('grant execute on function ccm.agent_whoami(text) to %I', v_role);
    end if;
  end loop;
end
$$;
