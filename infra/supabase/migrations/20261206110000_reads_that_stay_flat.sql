-- Reads of the page that grew with the history (issue 14; docs/decisions.md 68).
--
-- The operator's page names the businesses that posted most in the span shown, from
-- business_activity_days: without an index on the day, every day of every business was
-- scanned (at 10^6 stored posts over a year: 5,467 pages, 17 ms, and more each year).
-- Rows are written as the days pass, so a span's rows sit together; the day's value never
-- changes on update, so the index keeps the updates heap-only.
create index if not exists business_activity_days_day on business_activity_days (day);

-- A signed-in user's decisions, snapshots and rewards are those of the posts they may read.
-- Written as `post_id in (select post_id from posts)`, every read hashed all of the user's
-- posts first, whatever it read: a business owner's latest 30 posts at 10^6 stored posts
-- (10,000 of them theirs) built two hashes of 10,000 posts (14 ms). As `exists`, the planner
-- looks each row up when a read is small and still hashes when it is large. The same rows
-- are visible as before.
drop policy if exists own_decisions on decisions;
create policy own_decisions on decisions for select to authenticated
  using (exists (select 1 from posts p where p.post_id = decisions.post_id));
drop policy if exists own_snapshots on snapshots;
create policy own_snapshots on snapshots for select to authenticated
  using (exists (select 1 from posts p where p.post_id = snapshots.post_id));
drop policy if exists own_rewards on rewards;
create policy own_rewards on rewards for select to authenticated
  using (exists (select 1 from posts p where p.post_id = rewards.post_id));

-- Per-week rows beside the per-day ones. The page draws spans longer than six weeks per
-- week, and summed them from the day rows on every load: up to seven rows per point, so
-- its read grew with how densely the span was posted (the operator's page at 10^3 stored
-- posts read about 1,000 rows, at 10^6 all 5,840 of a year; 2 → 12 ms). A week's row is
-- kept by the same fold as its days', so the page reads a row per cell and week however
-- dense the history (docs/decisions.md 68). `week` is the Monday (UTC) of the days summed.
create table if not exists activity_weeks (
  platform        text not null,
  time_bucket     text not null,
  week            date not null check (extract(isodow from week) = 1),
  holdback        boolean not null,
  decisions       bigint not null default 0 check (decisions >= 0),
  choices         bigint not null default 0 check (choices >= 0),
  explored        bigint not null default 0 check (explored >= 0),
  published       bigint not null default 0 check (published >= 0),
  rewarded        bigint not null default 0 check (rewarded >= 0),
  valued          bigint not null default 0 check (valued >= 0),
  reward_sum      float8 not null default 0 check (app_is_finite(reward_sum)),
  reward_sumsq    float8 not null default 0 check (app_is_finite(reward_sumsq)),
  baseline_after  float8 check (app_is_finite(baseline_after)),
  baseline_at     timestamptz,
  primary key (platform, time_bucket, week, holdback)
);
create table if not exists business_activity_weeks (
  business_id     uuid not null references profiles (business_id),
  platform        text not null,
  time_bucket     text not null,
  week            date not null check (extract(isodow from week) = 1),
  holdback        boolean not null,
  decisions       bigint not null default 0 check (decisions >= 0),
  choices         bigint not null default 0 check (choices >= 0),
  explored        bigint not null default 0 check (explored >= 0),
  published       bigint not null default 0 check (published >= 0),
  rewarded        bigint not null default 0 check (rewarded >= 0),
  valued          bigint not null default 0 check (valued >= 0),
  reward_sum      float8 not null default 0 check (app_is_finite(reward_sum)),
  reward_sumsq    float8 not null default 0 check (app_is_finite(reward_sumsq)),
  baseline_after  float8 check (app_is_finite(baseline_after)),
  baseline_at     timestamptz,
  primary key (business_id, platform, time_bucket, week, holdback)
);
create index if not exists business_activity_weeks_week on business_activity_weeks (week);
-- Updated in place as often as the day rows: the same room per page and vacuum threshold.
alter table activity_weeks set (
  fillfactor = 50, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000
);
alter table business_activity_weeks set (
  fillfactor = 50, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000
);

-- No write folds in while the weeks are filled from the days below (the lock lasts until
-- this migration commits, with the new fold in place).
lock table activity_days, business_activity_days in share row exclusive mode;

-- The fold of migration 20261206040000, into the weeks too: one upsert per table, each in
-- key order (two statements lock the rows they share in the same order).
create or replace function app_fold_activity(delta jsonb) returns void
language plpgsql as $$
begin
  with d as (select * from jsonb_to_recordset(delta) as t(
      business_id uuid, platform text, time_bucket text, day date, holdback boolean,
      decisions bigint, choices bigint, explored bigint, published bigint, rewarded bigint, valued bigint,
      reward_sum float8, reward_sumsq float8, baseline_after float8, baseline_at timestamptz)),
  g as (select platform, time_bucket, day, holdback,
           sum(decisions) as decisions, sum(choices) as choices, sum(explored) as explored,
           sum(published) as published, sum(rewarded) as rewarded, sum(valued) as valued,
           sum(reward_sum) as reward_sum, sum(reward_sumsq) as reward_sumsq,
           (array_agg(baseline_after order by baseline_at desc nulls last))[1] as baseline_after,
           max(baseline_at) as baseline_at
        from d group by 1, 2, 3, 4)
  insert into activity_days as a
  select * from g order by platform, time_bucket, day, holdback
  on conflict (platform, time_bucket, day, holdback) do update set
    decisions = a.decisions + excluded.decisions, choices = a.choices + excluded.choices,
    explored = a.explored + excluded.explored, published = a.published + excluded.published,
    rewarded = a.rewarded + excluded.rewarded, valued = a.valued + excluded.valued,
    reward_sum = a.reward_sum + excluded.reward_sum, reward_sumsq = a.reward_sumsq + excluded.reward_sumsq,
    baseline_after = case when excluded.baseline_at >= a.baseline_at or a.baseline_at is null
                          then coalesce(excluded.baseline_after, a.baseline_after) else a.baseline_after end,
    baseline_at = greatest(a.baseline_at, excluded.baseline_at);

  with d as (select * from jsonb_to_recordset(delta) as t(
      business_id uuid, platform text, time_bucket text, day date, holdback boolean,
      decisions bigint, choices bigint, explored bigint, published bigint, rewarded bigint, valued bigint,
      reward_sum float8, reward_sumsq float8, baseline_after float8, baseline_at timestamptz)),
  g as (select business_id, platform, time_bucket, day, holdback,
           sum(decisions) as decisions, sum(choices) as choices, sum(explored) as explored,
           sum(published) as published, sum(rewarded) as rewarded, sum(valued) as valued,
           sum(reward_sum) as reward_sum, sum(reward_sumsq) as reward_sumsq,
           (array_agg(baseline_after order by baseline_at desc nulls last))[1] as baseline_after,
           max(baseline_at) as baseline_at
        from d group by 1, 2, 3, 4, 5)
  insert into business_activity_days as a
  select * from g order by business_id, platform, time_bucket, day, holdback
  on conflict (business_id, platform, time_bucket, day, holdback) do update set
    decisions = a.decisions + excluded.decisions, choices = a.choices + excluded.choices,
    explored = a.explored + excluded.explored, published = a.published + excluded.published,
    rewarded = a.rewarded + excluded.rewarded, valued = a.valued + excluded.valued,
    reward_sum = a.reward_sum + excluded.reward_sum, reward_sumsq = a.reward_sumsq + excluded.reward_sumsq,
    baseline_after = case when excluded.baseline_at >= a.baseline_at or a.baseline_at is null
                          then coalesce(excluded.baseline_after, a.baseline_after) else a.baseline_after end,
    baseline_at = greatest(a.baseline_at, excluded.baseline_at);

  with d as (select * from jsonb_to_recordset(delta) as t(
      business_id uuid, platform text, time_bucket text, day date, holdback boolean,
      decisions bigint, choices bigint, explored bigint, published bigint, rewarded bigint, valued bigint,
      reward_sum float8, reward_sumsq float8, baseline_after float8, baseline_at timestamptz)),
  g as (select platform, time_bucket, day - (extract(isodow from day)::int - 1) as week, holdback,
           sum(decisions) as decisions, sum(choices) as choices, sum(explored) as explored,
           sum(published) as published, sum(rewarded) as rewarded, sum(valued) as valued,
           sum(reward_sum) as reward_sum, sum(reward_sumsq) as reward_sumsq,
           (array_agg(baseline_after order by baseline_at desc nulls last))[1] as baseline_after,
           max(baseline_at) as baseline_at
        from d group by 1, 2, 3, 4)
  insert into activity_weeks as a
  select * from g order by platform, time_bucket, week, holdback
  on conflict (platform, time_bucket, week, holdback) do update set
    decisions = a.decisions + excluded.decisions, choices = a.choices + excluded.choices,
    explored = a.explored + excluded.explored, published = a.published + excluded.published,
    rewarded = a.rewarded + excluded.rewarded, valued = a.valued + excluded.valued,
    reward_sum = a.reward_sum + excluded.reward_sum, reward_sumsq = a.reward_sumsq + excluded.reward_sumsq,
    baseline_after = case when excluded.baseline_at >= a.baseline_at or a.baseline_at is null
                          then coalesce(excluded.baseline_after, a.baseline_after) else a.baseline_after end,
    baseline_at = greatest(a.baseline_at, excluded.baseline_at);

  with d as (select * from jsonb_to_recordset(delta) as t(
      business_id uuid, platform text, time_bucket text, day date, holdback boolean,
      decisions bigint, choices bigint, explored bigint, published bigint, rewarded bigint, valued bigint,
      reward_sum float8, reward_sumsq float8, baseline_after float8, baseline_at timestamptz)),
  g as (select business_id, platform, time_bucket, day - (extract(isodow from day)::int - 1) as week, holdback,
           sum(decisions) as decisions, sum(choices) as choices, sum(explored) as explored,
           sum(published) as published, sum(rewarded) as rewarded, sum(valued) as valued,
           sum(reward_sum) as reward_sum, sum(reward_sumsq) as reward_sumsq,
           (array_agg(baseline_after order by baseline_at desc nulls last))[1] as baseline_after,
           max(baseline_at) as baseline_at
        from d group by 1, 2, 3, 4, 5)
  insert into business_activity_weeks as a
  select * from g order by business_id, platform, time_bucket, week, holdback
  on conflict (business_id, platform, time_bucket, week, holdback) do update set
    decisions = a.decisions + excluded.decisions, choices = a.choices + excluded.choices,
    explored = a.explored + excluded.explored, published = a.published + excluded.published,
    rewarded = a.rewarded + excluded.rewarded, valued = a.valued + excluded.valued,
    reward_sum = a.reward_sum + excluded.reward_sum, reward_sumsq = a.reward_sumsq + excluded.reward_sumsq,
    baseline_after = case when excluded.baseline_at >= a.baseline_at or a.baseline_at is null
                          then coalesce(excluded.baseline_after, a.baseline_after) else a.baseline_after end,
    baseline_at = greatest(a.baseline_at, excluded.baseline_at);
end
$$;

-- The weeks of what the days hold.
insert into activity_weeks
select platform, time_bucket, day - (extract(isodow from day)::int - 1), holdback,
       sum(decisions), sum(choices), sum(explored), sum(published), sum(rewarded), sum(valued),
       sum(reward_sum), sum(reward_sumsq),
       (array_agg(baseline_after order by baseline_at desc nulls last))[1], max(baseline_at)
from activity_days group by 1, 2, 3, 4
on conflict do nothing;
insert into business_activity_weeks
select business_id, platform, time_bucket, day - (extract(isodow from day)::int - 1), holdback,
       sum(decisions), sum(choices), sum(explored), sum(published), sum(rewarded), sum(valued),
       sum(reward_sum), sum(reward_sumsq),
       (array_agg(baseline_after order by baseline_at desc nulls last))[1], max(baseline_at)
from business_activity_days group by 1, 2, 3, 4, 5
on conflict do nothing;

-- As the days: the operator's table is the functions' own; a signed-in user reads their own
-- businesses' weeks.
alter table activity_weeks enable row level security;
alter table business_activity_weeks enable row level security;
drop policy if exists own_activity on business_activity_weeks;
create policy own_activity on business_activity_weeks for select to authenticated
  using (business_id = any (array(select app_owned_businesses())));
do $$
begin
  if exists (select 1 from pg_roles where rolname = 'anon')
     and exists (select 1 from pg_roles where rolname = 'authenticated') then
    revoke all on activity_weeks, business_activity_weeks from anon, authenticated;
    grant select on business_activity_weeks to authenticated;
  end if;
end
$$;
