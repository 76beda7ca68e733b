-- When to post (docs/best-time.md): every business's rewards per platform and local slot
-- (time bucket and weekday), the prior each business's own estimates shrink toward.
-- Recomputed by the sweep with the dashboard's figures (DASHBOARD_EVERY_HOURS), so a
-- decision reads at most 28 rows of it, whatever the data's size. Service-only.
create table if not exists slot_rewards (
  platform     text not null,
  time_bucket  text not null,
  day_of_week  smallint not null check (day_of_week between 0 and 6),
  posts        integer not null check (posts > 0),
  total        float8 not null,
  squares      float8 not null check (squares >= 0),
  computed_at  timestamptz not null,
  primary key (platform, time_bucket, day_of_week)
);

-- Each business's own rewards per platform and slot, kept by the same refresh: a decision
-- and a page read a business's at most 28 rows per platform, however many posts it has.
create table if not exists business_slot_rewards (
  business_id  uuid not null references profiles (business_id),
  platform     text not null,
  time_bucket  text not null,
  day_of_week  smallint not null check (day_of_week between 0 and 6),
  posts        integer not null check (posts > 0),
  total        float8 not null,
  squares      float8 not null check (squares >= 0),
  computed_at  timestamptz not null,
  primary key (business_id, platform, time_bucket, day_of_week)
);
alter table slot_rewards enable row level security;
alter table business_slot_rewards enable row level security;
do $$
begin
  if exists (select 1 from pg_roles where rolname = 'anon')
     and exists (select 1 from pg_roles where rolname = 'authenticated') then
    revoke all on slot_rewards, business_slot_rewards from anon, authenticated;
  end if;
end
$$;

-- Who chose a post's time: the caller ('given'), publishing now ('now', auto_publish or a
-- draft before this), or the product's best time ('best_time': a draft the caller left unscheduled).
alter table posts add column if not exists scheduled_by text not null default 'given';
alter table posts drop constraint if exists posts_scheduled_by_check;
alter table posts add constraint posts_scheduled_by_check check (scheduled_by in ('given', 'now', 'best_time'));
