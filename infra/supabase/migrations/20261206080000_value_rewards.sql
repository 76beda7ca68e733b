-- What works (docs/dashboard.md): each business's rewards per platform and chosen value of
-- each dimension over the last 90 days (holdback posts left out: their action was fixed),
-- recomputed by the sweep with the dashboard's other figures (DASHBOARD_EVERY_HOURS), so a
-- page reads a business's few hundred rows instead of its decisions. Service-only.
create table if not exists value_rewards (
  business_id  uuid not null references profiles (business_id),
  platform     text not null,
  dimension    text not null,
  value        text not null,
  posts        integer not null check (posts > 0),
  total        float8 not null,
  squares      float8 not null check (squares >= 0),
  computed_at  timestamptz not null,
  primary key (business_id, platform, dimension, value)
);
alter table value_rewards enable row level security;
do $$
begin
  if exists (select 1 from pg_roles where rolname = 'anon')
     and exists (select 1 from pg_roles where rolname = 'authenticated') then
    revoke all on value_rewards from anon, authenticated;
  end if;
end
$$;
