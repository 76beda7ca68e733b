-- One business's snapshots per hour (shared/rate_limits.py; docs/reliability.md, "Tenants").
-- record_snapshot counts each stored snapshot in the row of its business and hour, in the
-- same transaction: a report over the limit is refused and nothing of it stays. The same
-- statement deletes the business's rows of earlier hours: one row per business stays.
create table if not exists business_rates (
  business_id  uuid not null references profiles (business_id),
  window_start timestamptz not null,
  snapshots    integer not null default 0 check (snapshots >= 0),
  primary key (business_id, window_start)
);

-- Only the functions' own connection uses it (service_role bypasses RLS; no policy needed).
alter table business_rates enable row level security;
do $$
begin
  if exists (select 1 from pg_roles where rolname = 'anon')
     and exists (select 1 from pg_roles where rolname = 'authenticated') then
    revoke all on business_rates from anon, authenticated;
  end if;
end
$$;
