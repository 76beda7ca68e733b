-- The dashboard's raw engagement, follower counts, and top and bottom posts, per business
-- (docs/dashboard.md), kept so that a page reads a few rows per day whatever is stored.
--
-- engagement_days: per business, platform and UTC day the posts were scheduled for, the sum
-- of their latest snapshot's counters (snapshots are cumulative, so a post's engagement is its
-- latest). A statement trigger on snapshots folds in, per post, the latest snapshot after the
-- statement minus the latest before it: a late snapshot older than the latest adds nothing, a
-- redelivery that inserts nothing adds nothing. The posts are locked first (no key update: it
-- does not wait on the foreign key's share lock), so two snapshots of one post fold one after
-- the other, the second seeing the first.
--
-- follower_days: per business, platform and UTC day of observation, the latest follower count
-- a snapshot reported that day.
--
-- standout_posts: each business's three best and three worst rewarded posts of the last 90
-- days, recomputed by the sweep with value_rewards.
--
-- Service-only: the functions read them with the page's scope written out.

create table if not exists engagement_days (
  business_id   uuid not null references profiles (business_id),
  platform      text not null,
  day           date not null,
  posts         bigint not null default 0 check (posts >= 0),  -- with at least one snapshot
  likes         bigint not null default 0,
  comments      bigint not null default 0,
  shares        bigint not null default 0,
  saves         bigint not null default 0,
  replies       bigint not null default 0,
  reposts       bigint not null default 0,
  reactions     bigint not null default 0,
  impressions   bigint not null default 0,
  primary key (business_id, platform, day)
);

-- The same summed over every business (the operator's page), kept by the same trigger.
create table if not exists platform_engagement_days (
  platform      text not null,
  day           date not null,
  posts         bigint not null default 0 check (posts >= 0),
  likes         bigint not null default 0,
  comments      bigint not null default 0,
  shares        bigint not null default 0,
  saves         bigint not null default 0,
  replies       bigint not null default 0,
  reposts       bigint not null default 0,
  reactions     bigint not null default 0,
  impressions   bigint not null default 0,
  primary key (platform, day)
);

create table if not exists follower_days (
  business_id   uuid not null references profiles (business_id),
  platform      text not null,
  day           date not null,
  followers     bigint not null check (followers >= 0),
  observed_at   timestamptz not null,
  primary key (business_id, platform, day)
);

create or replace function app_engagement_of_snapshots() returns trigger
language plpgsql as $$
begin
  perform 1 from posts where post_id in (select post_id from new_rows) order by post_id for no key update;
  with after_ as (
    select distinct on (s.post_id) s.* from snapshots s
    where s.post_id in (select post_id from new_rows) order by s.post_id, s.observed_at desc
  ), before_ as (
    select distinct on (s.post_id) s.* from snapshots s
    where s.post_id in (select post_id from new_rows)
      and not exists (select 1 from new_rows n where n.snapshot_id = s.snapshot_id)
    order by s.post_id, s.observed_at desc
  ), delta_ as (
    select p.business_id, p.platform, (p.scheduled_for at time zone 'UTC')::date as day,
           sum((b.post_id is null)::int) as posts,
           sum(a.likes - coalesce(b.likes, 0)) as likes, sum(a.comments - coalesce(b.comments, 0)) as comments,
           sum(a.shares - coalesce(b.shares, 0)) as shares, sum(a.saves - coalesce(b.saves, 0)) as saves,
           sum(a.replies - coalesce(b.replies, 0)) as replies, sum(a.reposts - coalesce(b.reposts, 0)) as reposts,
           sum(a.reactions - coalesce(b.reactions, 0)) as reactions,
           sum(coalesce(a.impressions, 0) - coalesce(b.impressions, 0)) as impressions
    from after_ a join posts p on p.post_id = a.post_id left join before_ b on b.post_id = a.post_id
    where b.snapshot_id is distinct from a.snapshot_id
    group by 1, 2, 3
  ), by_business as (
    insert into engagement_days as e
    select * from delta_ order by business_id, platform, day
    on conflict (business_id, platform, day) do update set
      posts = e.posts + excluded.posts, likes = e.likes + excluded.likes, comments = e.comments + excluded.comments,
      shares = e.shares + excluded.shares, saves = e.saves + excluded.saves, replies = e.replies + excluded.replies,
      reposts = e.reposts + excluded.reposts, reactions = e.reactions + excluded.reactions,
      impressions = e.impressions + excluded.impressions
    returning 1
  )
  insert into platform_engagement_days as e
  select platform, day, sum(posts), sum(likes), sum(comments), sum(shares), sum(saves), sum(replies),
         sum(reposts), sum(reactions), sum(impressions)
  from delta_ group by 1, 2 order by 1, 2
  on conflict (platform, day) do update set
    posts = e.posts + excluded.posts, likes = e.likes + excluded.likes, comments = e.comments + excluded.comments,
    shares = e.shares + excluded.shares, saves = e.saves + excluded.saves, replies = e.replies + excluded.replies,
    reposts = e.reposts + excluded.reposts, reactions = e.reactions + excluded.reactions,
    impressions = e.impressions + excluded.impressions;

  insert into follower_days as f
  select distinct on (p.business_id, p.platform, (n.observed_at at time zone 'UTC')::date)
         p.business_id, p.platform, (n.observed_at at time zone 'UTC')::date, n.follower_count, n.observed_at
  from new_rows n join posts p on p.post_id = n.post_id
  where n.follower_count is not null
  order by p.business_id, p.platform, (n.observed_at at time zone 'UTC')::date, n.observed_at desc
  on conflict (business_id, platform, day) do update set
    followers = excluded.followers, observed_at = excluded.observed_at
  where excluded.observed_at > f.observed_at;
  return null;
end
$$;

drop trigger if exists snapshots_engagement on snapshots;
create trigger snapshots_engagement after insert on snapshots
  referencing new table as new_rows for each statement execute function app_engagement_of_snapshots();

-- What existed before this migration, counted once.
insert into engagement_days
select p.business_id, p.platform, (p.scheduled_for at time zone 'UTC')::date, count(*),
       sum(s.likes), sum(s.comments), sum(s.shares), sum(s.saves), sum(s.replies), sum(s.reposts),
       sum(s.reactions), sum(coalesce(s.impressions, 0))
from (select distinct on (post_id) * from snapshots order by post_id, observed_at desc) s
join posts p on p.post_id = s.post_id
group by 1, 2, 3
on conflict do nothing;
insert into platform_engagement_days
select platform, day, sum(posts), sum(likes), sum(comments), sum(shares), sum(saves), sum(replies),
       sum(reposts), sum(reactions), sum(impressions)
from engagement_days group by 1, 2
on conflict do nothing;
insert into follower_days
select distinct on (p.business_id, p.platform, (s.observed_at at time zone 'UTC')::date)
       p.business_id, p.platform, (s.observed_at at time zone 'UTC')::date, s.follower_count, s.observed_at
from snapshots s join posts p on p.post_id = s.post_id
where s.follower_count is not null
order by p.business_id, p.platform, (s.observed_at at time zone 'UTC')::date, s.observed_at desc
on conflict do nothing;

create table if not exists standout_posts (
  business_id  uuid not null references profiles (business_id),
  post_id      uuid not null references posts (post_id),
  best         boolean not null,  -- among the three best (true) or the three worst (false)
  reward       float8 not null check (reward between -1 and 1),
  computed_at  timestamptz not null,
  primary key (business_id, best, post_id)
);
create index if not exists standout_posts_reward on standout_posts (reward);

do $$
begin
  if exists (select 1 from pg_roles where rolname = 'anon')
     and exists (select 1 from pg_roles where rolname = 'authenticated') then
    revoke all on engagement_days, platform_engagement_days, follower_days, standout_posts from anon, authenticated;
  end if;
end
$$;
alter table engagement_days enable row level security;
alter table platform_engagement_days enable row level security;
alter table follower_days enable row level security;
alter table standout_posts enable row level security;

-- One business's latest posts on its page, through an index.
create index if not exists posts_business_scheduled_for on posts (business_id, scheduled_for desc, post_id);
-- The page's business selector, by name, through an index.
create index if not exists profiles_name on profiles (name, business_id);

-- The per-day tables are updated in place by every write (a cell's row of the day, thousands of
-- times a day). Packed full, each update moved its row to another page and the table grew with
-- the updates, not the rows: 5,840 live rows of activity_days filled 3,898 pages after 10^6
-- posts, and the page's scans of it went from 2 to 30 ms (docs/performance.md, section 4). Half
-- of each page is left free, so an update stays in its page (a HOT update, its old version
-- pruned in place), and autovacuum comes as soon as a few thousand versions are dead.
alter table activity_days set (
  fillfactor = 50, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000
);
alter table business_activity_days set (
  fillfactor = 50, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000
);
alter table engagement_days set (
  fillfactor = 50, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000
);
alter table platform_engagement_days set (
  fillfactor = 50, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000
);
alter table follower_days set (
  fillfactor = 50, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000
);
