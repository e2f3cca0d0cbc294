-- Local development data for `supabase db reset` (never run against production by `db push`).
-- It holds no credential: agent tokens are issued with `pnpm ccm agent enroll <host>`, which
-- stores only their sha256, and operators are added by user id (see docs/supabase.md).

-- A host with no token yet, so `pnpm ccm agent rotate demo-host` / `enroll` can be tried at once.
insert into ccm.agents (host, labels) values ('demo-host', '{"env": "dev"}')
on conflict ((lower(host))) do nothing;
