-- When a CDC stream's status last changed (issue 19 point 16: /ready is 503 once
-- a stream has been in error/backoff/lost longer than cdc.ready_max_unhealthy_ms).
-- `if not exists`: sql/008 (parked jobs, health view) adds the same column for
-- the status view; whichever migration runs first creates it. The trigger moves
-- it on every status change, whichever code path writes the status.
alter table typesense_cdc_streams
  add column if not exists status_changed_at timestamptz not null default now();

create or replace function typesense_cdc_streams_status_changed() returns trigger
language plpgsql as $$
begin
  if new.status is distinct from old.status then
    new.status_changed_at := now();
  end if;
  return new;
end $$;

create trigger typesense_cdc_streams_status_changed
  before update of status on typesense_cdc_streams
  for each row execute function typesense_cdc_streams_status_changed();
