-- A wave's release time is when it was released, not when the releasing transaction began.
-- advance_broadcasts() steps every broadcast in one transaction, so now() there can be earlier
-- than the finish (committed meanwhile) that made the next wave releasable; the offline TTL and
-- "waves never overlap" both read released_at, so stamp a release (null -> set) with the clock.
create function ccm.stamp_task_release()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if old.released_at is null and new.released_at is not null then
    new.released_at := clock_timestamp();
  end if;
  return new;
end
$$;

create trigger tasks_stamp_release
  before update of released_at on ccm.tasks
  for each row execute function ccm.stamp_task_release();
