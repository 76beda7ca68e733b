-- Core schema of the social content learner (docs/spec.md §3–§7).
-- Every float array is float8[] with CHECKs (finite, right length); every
-- counter is >= 0; unique keys make every step idempotent.

create or replace function app_all_finite(a float8[]) returns boolean
language sql immutable parallel safe as $$
  -- Postgres orders NaN above every number and equal to itself, so it is named.
  select coalesce(bool_and(v is not null and v not in ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8)), true)
  from unnest(a) as t(v)
$$;

-- Null passes (a CHECK accepts null); nullability is the column's business.
create or replace function app_is_finite(v float8) returns boolean
language sql immutable parallel safe as $$
  select v not in ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8)
$$;

create table profiles (
  business_id      uuid primary key,
  owner_id         uuid,
  name             text not null check (length(name) between 1 and 200),
  business_types   text[] not null default '{}',
  industries       text[] not null default '{}',
  description      text not null default '',
  brand_voice      text not null default '',
  brand_tone       text not null default '',
  audience         text not null default '',
  colours          text[] not null default '{}',
  time_zone        text not null default 'UTC',
  embedding        float8[] check (
    embedding is null
    or (array_ndims(embedding) = 1 and cardinality(embedding) = 384 and app_all_finite(embedding))
  ),
  follower_counts  jsonb not null default '{}'::jsonb check (jsonb_typeof(follower_counts) = 'object'),
  created_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now()
);

create table posts (
  post_id        uuid primary key,
  business_id    uuid not null references profiles (business_id),
  request_id     text not null check (length(request_id) between 1 and 128),
  platform       text not null check (platform in ('instagram', 'x', 'linkedin', 'facebook')),
  topic          text not null,
  scheduled_for  timestamptz not null,
  status         text not null default 'generated' check (status in ('generated', 'posted', 'deleted')),
  media_id       text,
  posted_at      timestamptz,
  deleted_at     timestamptz,
  mode           text not null check (mode in ('standard', 'trend')),
  caption_prompt text not null,
  image_prompt   text not null,
  caption        text,
  created_at     timestamptz not null default now(),
  unique (business_id, request_id),
  check (status = 'generated' or posted_at is not null),
  check (status <> 'deleted' or deleted_at is not null)
);
create index posts_business_created on posts (business_id, created_at desc);

create table decisions (
  decision_id       uuid primary key,
  post_id           uuid not null unique references posts (post_id),
  platform          text not null check (platform in ('instagram', 'x', 'linkedin', 'facebook')),
  time_bucket       text not null check (time_bucket in ('morning', 'afternoon', 'evening', 'night')),
  day_of_week       smallint not null check (day_of_week between 0 and 6),
  x                 float8[] not null check (
    array_ndims(x) = 1 and cardinality(x) = 768 and app_all_finite(x)
  ),
  context_fallback  boolean not null,
  action            jsonb not null check (jsonb_typeof(action) = 'object'),
  choices           jsonb not null check (jsonb_typeof(choices) = 'array'),
  joint_propensity  float8 not null check (joint_propensity > 0 and joint_propensity <= 1),
  tau               float8 not null check (tau > 0 and app_is_finite(tau)),
  epsilon           float8 not null check (epsilon between 0 and 1),
  policy_version    bigint not null check (policy_version >= 0),
  action_space      text not null,
  seed              bigint not null check (seed >= 0),
  created_at        timestamptz not null default now()
);

create table snapshots (
  snapshot_id     bigint generated always as identity primary key,
  post_id         uuid not null references posts (post_id),
  observed_at     timestamptz not null,
  timeslot_hours  smallint check (timeslot_hours in (6, 24, 48, 72, 168)),
  likes           bigint not null default 0 check (likes >= 0),
  comments        bigint not null default 0 check (comments >= 0),
  shares          bigint not null default 0 check (shares >= 0),
  saves           bigint not null default 0 check (saves >= 0),
  replies         bigint not null default 0 check (replies >= 0),
  reposts         bigint not null default 0 check (reposts >= 0),
  reactions       bigint not null default 0 check (reactions >= 0),
  impressions     bigint check (impressions >= 0),
  reach           bigint check (reach >= 0),
  follower_count  bigint check (follower_count >= 0),
  late            boolean not null default false,
  received_at     timestamptz not null default now(),
  unique (post_id, observed_at)
);

create table rewards (
  post_id             uuid primary key references posts (post_id),
  status              text not null default 'pending' check (status in ('pending', 'computed', 'missing')),
  eligible_at         timestamptz not null,
  finalize_by         timestamptz not null check (finalize_by >= eligible_at),
  value               float8 check (value between -1 and 1),
  components          jsonb,
  baseline_before     float8 check (app_is_finite(baseline_before)),
  baseline_after      float8 check (app_is_finite(baseline_after)),
  definition_version  text,
  computed_at         timestamptz,
  check (status = 'pending' or computed_at is not null),
  check (status <> 'computed' or value is not null)
);
create index rewards_pending_due on rewards (eligible_at) where status = 'pending';

-- Policy state. Absent rows read as 0, so a new action value needs no migration.
create table policy_preferences (
  platform     text not null check (platform in ('instagram', 'x', 'linkedin', 'facebook')),
  time_bucket  text not null check (time_bucket in ('morning', 'afternoon', 'evening', 'night')),
  dimension    text not null,
  value        text not null,
  h            float8 not null default 0 check (app_is_finite(h)),
  primary key (platform, time_bucket, dimension, value)
);

create table policy_theta (
  dimension  text not null,
  value      text not null,
  theta      float8[] not null check (
    array_ndims(theta) = 1 and cardinality(theta) = 768 and app_all_finite(theta)
  ),
  primary key (dimension, value)
);

create table policy_baselines (
  platform  text primary key check (platform in ('instagram', 'x', 'linkedin', 'facebook')),
  b         float8 not null default 0 check (app_is_finite(b)),
  n         bigint not null default 0 check (n >= 0)
);

create table policy_state (
  id       smallint primary key default 1 check (id = 1),
  version  bigint not null default 0 check (version >= 0)
);
insert into policy_state (id, version) values (1, 0);

-- One row per applied update: the idempotency claim of update_policy.
create table policy_updates (
  post_id         uuid primary key references rewards (post_id),
  reward          float8 not null check (reward between -1 and 1),
  advantage       float8 not null check (app_is_finite(advantage)),
  version_after   bigint not null unique,
  applied_at      timestamptz not null
);

-- Transactional outbox: written with the state change, delivered after commit.
create table outbox (
  task_name      text primary key,
  target         text not null check (target in ('compute_reward', 'update_policy')),
  payload        jsonb not null check (jsonb_typeof(payload) = 'object'),
  schedule_time  timestamptz not null,
  status         text not null default 'pending' check (status in ('pending', 'dispatched', 'done', 'dead')),
  attempts       integer not null default 0 check (attempts >= 0),
  lease_until    timestamptz,
  last_error     text,
  created_at     timestamptz not null default now(),
  updated_at     timestamptz not null default now()
);
create index outbox_pending_due on outbox (schedule_time) where status = 'pending';

insert into policy_baselines (platform) values ('instagram'), ('x'), ('linkedin'), ('facebook');
