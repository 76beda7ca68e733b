-- What the dashboard counts, kept up to date as rows are written (issue 14): the page reads
-- a few rows per day and cell, not every decision, so it costs the same at 10^3 stored
-- decisions as at 10^6 (docs/performance.md; docs/decisions.md item 63).
--
-- One row per platform, time bucket, UTC day and arm (holdback or not), counting the posts
-- scheduled that day: their decisions, choices, explored choices, how many were published,
-- and their final rewards (count, sum, sum of squares, the latest baseline).
-- activity_days sums every business (the operator's view); business_activity_days keeps each
-- business apart (a business owner's view, under row-level security).
--
-- Statement triggers on decisions, posts and rewards fold each statement's rows in, grouped
-- and in key order (two statements lock the rows they share in the same order). A row
-- written once is counted once: the triggers fire on what a statement actually changed, so
-- a redelivered request that inserts nothing counts nothing.

create table if not exists activity_days (
  platform        text not null,
  time_bucket     text not null,
  day             date not null,
  holdback        boolean not null,
  decisions       bigint not null default 0 check (decisions >= 0),
  choices         bigint not null default 0 check (choices >= 0),  -- dimension choices of non-holdback decisions
  explored        bigint not null default 0 check (explored >= 0),  -- of which a value other than the most likely
  published       bigint not null default 0 check (published >= 0),
  rewarded        bigint not null default 0 check (rewarded >= 0),  -- status 'computed'
  valued          bigint not null default 0 check (valued >= 0),  -- with a value ('computed', or 'missing' with a default)
  reward_sum      float8 not null default 0 check (app_is_finite(reward_sum)),
  reward_sumsq    float8 not null default 0 check (app_is_finite(reward_sumsq)),
  baseline_after  float8 check (app_is_finite(baseline_after)),  -- of the latest reward computed for that day
  baseline_at     timestamptz,
  primary key (platform, time_bucket, day, holdback)
);

create table if not exists business_activity_days (
  business_id     uuid not null references profiles (business_id),
  platform        text not null,
  time_bucket     text not null,
  day             date not null,
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
  primary key (business_id, platform, time_bucket, day, holdback)
);

-- One upsert into both tables from rows of (business, cell, day, arm, counters).
create or replace function app_fold_activity(delta jsonb) returns void
language plpgsql as $$
begin
  with d as (
    select * from jsonb_to_recordset(delta) as t(
      business_id uuid, platform text, time_bucket text, day date, holdback boolean,
      decisions bigint, choices bigint, explored bigint, published bigint, rewarded bigint, valued bigint,
      reward_sum float8, reward_sumsq float8, baseline_after float8, baseline_at timestamptz)
  ), g as (
    select platform, time_bucket, day, holdback,
           sum(decisions) as decisions, sum(choices) as choices, sum(explored) as explored,
           sum(published) as published, sum(rewarded) as rewarded, sum(valued) as valued,
           sum(reward_sum) as reward_sum, sum(reward_sumsq) as reward_sumsq,
           (array_agg(baseline_after order by baseline_at desc nulls last))[1] as baseline_after,
           max(baseline_at) as baseline_at
    from d group by 1, 2, 3, 4
  )
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

  with d as (
    select * from jsonb_to_recordset(delta) as t(
      business_id uuid, platform text, time_bucket text, day date, holdback boolean,
      decisions bigint, choices bigint, explored bigint, published bigint, rewarded bigint, valued bigint,
      reward_sum float8, reward_sumsq float8, baseline_after float8, baseline_at timestamptz)
  ), g as (
    select business_id, platform, time_bucket, day, holdback,
           sum(decisions) as decisions, sum(choices) as choices, sum(explored) as explored,
           sum(published) as published, sum(rewarded) as rewarded, sum(valued) as valued,
           sum(reward_sum) as reward_sum, sum(reward_sumsq) as reward_sumsq,
           (array_agg(baseline_after order by baseline_at desc nulls last))[1] as baseline_after,
           max(baseline_at) as baseline_at
    from d group by 1, 2, 3, 4, 5
  )
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
end
$$;

-- New decisions (a holdback decision takes a
-- fixed action: it neither explores nor exploits, so its choices are not counted).
create or replace function app_activity_of_decisions() returns trigger
language plpgsql as $$
declare
  delta jsonb;
begin
  select jsonb_agg(to_jsonb(r)) into delta from (
    select p.business_id, n.platform, n.time_bucket, (p.scheduled_for at time zone 'UTC')::date as day,
           n.holdback, 1 as decisions,
           case when n.holdback then 0 else jsonb_array_length(n.choices) end as choices,
           case when n.holdback then 0 else (
             select count(*) from jsonb_array_elements(n.choices) c
             where (c->>'propensity')::float8
                   < (select max(v::float8) from jsonb_array_elements_text(c->'pi') v) - 1e-12) end as explored,
           (p.status <> 'generated')::int as published,
           0 as rewarded, 0 as valued, 0 as reward_sum, 0 as reward_sumsq
    from new_rows n join posts p using (post_id)
  ) r;
  if delta is not null then
    perform app_fold_activity(delta);
  end if;
  return null;
end
$$;

-- A post leaving 'generated' (published, or deleted before its first snapshot) is published.
create or replace function app_activity_of_posts() returns trigger
language plpgsql as $$
declare
  delta jsonb;
begin
  select jsonb_agg(to_jsonb(r)) into delta from (
    select n.business_id, d.platform, d.time_bucket, (n.scheduled_for at time zone 'UTC')::date as day,
           d.holdback, 0 as decisions, 0 as choices, 0 as explored,
           ((n.status <> 'generated')::int - (o.status <> 'generated')::int) as published,
           0 as rewarded, 0 as valued, 0 as reward_sum, 0 as reward_sumsq
    from new_rows n join old_rows o using (post_id) join decisions d using (post_id)
    where (n.status <> 'generated') is distinct from (o.status <> 'generated')
  ) r;
  if delta is not null then
    perform app_fold_activity(delta);
  end if;
  return null;
end
$$;

-- Rewards: what a statement changed, as the new rows' share minus the old rows' (an insert
-- has no old rows).
create or replace function app_activity_of_rewards() returns trigger
language plpgsql as $$
declare
  delta jsonb;
begin
  if tg_op = 'INSERT' then
    select jsonb_agg(to_jsonb(r)) into delta from (
      select p.business_id, p.platform, d.time_bucket, (p.scheduled_for at time zone 'UTC')::date as day,
             d.holdback, 0 as decisions, 0 as choices, 0 as explored, 0 as published,
             (n.status = 'computed')::int as rewarded, (n.value is not null)::int as valued,
             coalesce(n.value, 0) as reward_sum, coalesce(n.value * n.value, 0) as reward_sumsq,
             n.baseline_after, case when n.baseline_after is not null then n.computed_at end as baseline_at
      from new_rows n join posts p using (post_id) join decisions d using (post_id)
      where n.value is not null or n.status = 'computed'
    ) r;
  else
    select jsonb_agg(to_jsonb(r)) into delta from (
      select p.business_id, p.platform, d.time_bucket, (p.scheduled_for at time zone 'UTC')::date as day,
             d.holdback, 0 as decisions, 0 as choices, 0 as explored, 0 as published,
             (n.status = 'computed')::int - (o.status = 'computed')::int as rewarded,
             (n.value is not null)::int - (o.value is not null)::int as valued,
             coalesce(n.value, 0) - coalesce(o.value, 0) as reward_sum,
             coalesce(n.value * n.value, 0) - coalesce(o.value * o.value, 0) as reward_sumsq,
             n.baseline_after, case when n.baseline_after is not null then n.computed_at end as baseline_at
      from new_rows n join old_rows o using (post_id) join posts p using (post_id) join decisions d using (post_id)
      where n.value is distinct from o.value or n.status is distinct from o.status
    ) r;
  end if;
  if delta is not null then
    perform app_fold_activity(delta);
  end if;
  return null;
end
$$;

drop trigger if exists decisions_activity on decisions;
create trigger decisions_activity after insert on decisions
  referencing new table as new_rows for each statement execute function app_activity_of_decisions();
drop trigger if exists posts_activity on posts;
create trigger posts_activity after update on posts
  referencing old table as old_rows new table as new_rows for each statement execute function app_activity_of_posts();
drop trigger if exists rewards_activity_insert on rewards;
create trigger rewards_activity_insert after insert on rewards
  referencing new table as new_rows for each statement execute function app_activity_of_rewards();
drop trigger if exists rewards_activity_update on rewards;
create trigger rewards_activity_update after update on rewards
  referencing old table as old_rows new table as new_rows for each statement execute function app_activity_of_rewards();

-- What existed before this migration, counted once.
insert into business_activity_days
select p.business_id, d.platform, d.time_bucket, (p.scheduled_for at time zone 'UTC')::date, d.holdback,
       count(*), 0, 0, count(*) filter (where p.status <> 'generated'), 0, 0, 0, 0, null, null
from decisions d join posts p using (post_id)
group by 1, 2, 3, 4, 5
on conflict do nothing;
-- (choices, explored and rewards of older rows: folded in by the statement below)
with c as (
  select p.business_id, d.platform, d.time_bucket, (p.scheduled_for at time zone 'UTC')::date as day, d.holdback,
         count(*) as choices,
         count(*) filter (where (c->>'propensity')::float8
                          < (select max(v::float8) from jsonb_array_elements_text(c->'pi') v) - 1e-12) as explored
  from decisions d join posts p using (post_id), jsonb_array_elements(d.choices) c
  where not d.holdback group by 1, 2, 3, 4, 5
)
update business_activity_days a set choices = c.choices, explored = c.explored
from c where (a.business_id, a.platform, a.time_bucket, a.day, a.holdback)
           = (c.business_id, c.platform, c.time_bucket, c.day, c.holdback);
select app_fold_activity(coalesce(jsonb_agg(to_jsonb(r)), '[]'::jsonb)) from (
  select p.business_id, p.platform, d.time_bucket, (p.scheduled_for at time zone 'UTC')::date as day, d.holdback,
         0 as decisions, 0 as choices, 0 as explored, 0 as published,
         (r.status = 'computed')::int as rewarded, (r.value is not null)::int as valued,
         coalesce(r.value, 0) as reward_sum, coalesce(r.value * r.value, 0) as reward_sumsq,
         r.baseline_after, case when r.baseline_after is not null then r.computed_at end as baseline_at
  from rewards r join posts p using (post_id) join decisions d using (post_id)
  where r.value is not null or r.status = 'computed'
) r;
-- The operator's table is the sum of the businesses' (the fold above added the rewards to both).
insert into activity_days
select platform, time_bucket, day, holdback, sum(decisions), sum(choices), sum(explored), sum(published),
       0, 0, 0, 0, null, null
from business_activity_days group by 1, 2, 3, 4
on conflict (platform, time_bucket, day, holdback) do update set
  decisions = excluded.decisions, choices = excluded.choices, explored = excluded.explored,
  published = excluded.published;

-- A signed-in user reads the rows of their own businesses (as posts); anon nothing; the
-- operator's table is the functions' own (service_role bypasses RLS).
--
-- The owner's rows are found through indexes: the signed-in user's businesses are computed
-- once per statement (an InitPlan) and compared with `= any`, where the first policies'
-- `business_id in (select ... from profiles ...)` became a hashed filter over every row of
-- posts, and every decision through it (a business owner's page at 10^5 stored posts: 300 ms,
-- 1% of them theirs). The same rows are visible as before: the user's own businesses'.
create or replace function app_owned_businesses() returns setof uuid
language sql stable security definer set search_path = public as $$
  select business_id from profiles where owner_id = auth.uid()
$$;
drop policy if exists own_posts on posts;
create policy own_posts on posts for select to authenticated
  using (business_id = any (array(select app_owned_businesses())));
alter table activity_days enable row level security;
alter table business_activity_days enable row level security;
drop policy if exists own_activity on business_activity_days;
create policy own_activity on business_activity_days for select to authenticated
  using (business_id = any (array(select app_owned_businesses())));
do $$
begin
  if exists (select 1 from pg_roles where rolname = 'anon')
     and exists (select 1 from pg_roles where rolname = 'authenticated') then
    revoke all on activity_days, business_activity_days from anon, authenticated;
    grant select on business_activity_days to authenticated;
  end if;
end
$$;

-- The off-policy evaluation (the dashboard's what-if table) as the sweep last computed it:
-- a page load reads one row instead of re-running the bootstrap. Service-only.
create table if not exists evaluations (
  id           smallint primary key default 1 check (id = 1),
  version      bigint not null check (version >= 0),  -- the policy version evaluated
  n            integer not null check (n >= 0),  -- logged decisions read
  computed_at  timestamptz not null,
  estimates    jsonb not null check (jsonb_typeof(estimates) = 'array')
);
alter table evaluations enable row level security;
do $$
begin
  if exists (select 1 from pg_roles where rolname = 'anon')
     and exists (select 1 from pg_roles where rolname = 'authenticated') then
    revoke all on evaluations from anon, authenticated;
  end if;
end
$$;

-- Each cell's typical context (the mean x of its latest decisions), at which the page draws
-- the policy's bars: computed by the sweep with the evaluation, so a page load reads 16 rows
-- instead of 800 contexts spread over the decisions table. Service-only.
create table if not exists typical_contexts (
  platform     text not null,
  time_bucket  text not null,
  x            float8[] not null check (array_ndims(x) = 1 and cardinality(x) = 768 and app_all_finite(x)),
  decisions    integer not null check (decisions > 0),  -- how many were averaged
  computed_at  timestamptz not null,
  primary key (platform, time_bucket)
);
alter table typical_contexts enable row level security;
do $$
begin
  if exists (select 1 from pg_roles where rolname = 'anon')
     and exists (select 1 from pg_roles where rolname = 'authenticated') then
    revoke all on typical_contexts from anon, authenticated;
  end if;
end
$$;

-- The page's latest posts and each cell's recent decisions, read through indexes.
create index if not exists posts_scheduled_for on posts (scheduled_for desc, post_id);
create index if not exists decisions_cell_created_at on decisions (platform, time_bucket, created_at desc);

-- The learner's state is rewritten whole (a 5 MB checkpoint every 16 groups of updates, the
-- solution every group): each rewrite leaves its old TOAST chunks dead. With the default
-- thresholds (a fifth of the table) autovacuum waited for hundreds of them: 100,000 updates
-- at the benchmark's pace left 746 MB on disk for 5 MB of live state (docs/performance.md,
-- section 8). Vacuumed as soon as a few rewrites are dead, at full speed, the space is reused.
alter table learner_statistics set (
  autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 20, autovacuum_vacuum_cost_delay = 0,
  toast.autovacuum_vacuum_scale_factor = 0, toast.autovacuum_vacuum_threshold = 5000,
  toast.autovacuum_vacuum_cost_delay = 0
);
alter table learner_arrays set (
  autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 20, autovacuum_vacuum_cost_delay = 0,
  toast.autovacuum_vacuum_scale_factor = 0, toast.autovacuum_vacuum_threshold = 5000,
  toast.autovacuum_vacuum_cost_delay = 0
);
alter table policy_theta set (
  autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 20, autovacuum_vacuum_cost_delay = 0,
  toast.autovacuum_vacuum_scale_factor = 0, toast.autovacuum_vacuum_threshold = 5000,
  toast.autovacuum_vacuum_cost_delay = 0
);
