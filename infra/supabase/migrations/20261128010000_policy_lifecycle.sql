-- Policy lifecycle (docs/lifecycle.md): snapshots, rollback, reset, import;
-- exploration by learning steps; holdback decisions.

-- Learning steps: the rewards the current H and θ embody. An update adds one
-- per reward; a rollback restores the snapshot's count, a reset sets 0, an
-- import the file's. The ε schedule reads it. The version keeps counting every
-- change (updates and lifecycle steps alike), so it never repeats.
alter table policy_state add column steps bigint not null default 0 check (steps >= 0);
update policy_state set steps = version;

-- A holdback decision used the fixed baseline action: its π is one-hot and its
-- propensities are 1; it is never learned from (docs/lifecycle.md).
alter table decisions add column holdback boolean not null default false;
alter table decisions add constraint decisions_holdback_is_deterministic
  check (not holdback or joint_propensity = 1);

-- A snapshot: the whole policy state at one version, copied row for row
-- (float8 to float8, so a restore is bitwise exact).
create table policy_snapshots (
  snapshot_id   bigint generated always as identity primary key,
  key           text not null unique check (length(key) between 1 and 200),
  label         text not null default '' check (length(label) <= 200),
  reason        text not null check (reason in ('manual', 'periodic', 'before_rollback', 'before_reset', 'before_import')),
  version       bigint not null check (version >= 0),
  steps         bigint not null check (steps >= 0),
  action_space  text not null,
  created_at    timestamptz not null
);
create index policy_snapshots_version on policy_snapshots (version desc);

create table policy_snapshot_preferences (
  snapshot_id  bigint not null references policy_snapshots (snapshot_id) on delete cascade,
  platform     text not null,
  time_bucket  text not null,
  dimension    text not null,
  value        text not null,
  h            float8 not null check (app_is_finite(h)),
  primary key (snapshot_id, platform, time_bucket, dimension, value)
);

create table policy_snapshot_theta (
  snapshot_id  bigint not null references policy_snapshots (snapshot_id) on delete cascade,
  dimension    text not null,
  value        text not null,
  theta        float8[] not null check (
    array_ndims(theta) = 1 and cardinality(theta) = 768 and app_all_finite(theta)
  ),
  primary key (snapshot_id, dimension, value)
);
alter table policy_snapshot_theta alter column theta set storage plain;

create table policy_snapshot_baselines (
  snapshot_id  bigint not null references policy_snapshots (snapshot_id) on delete cascade,
  platform     text not null,
  b            float8 not null check (app_is_finite(b)),
  n            bigint not null check (n >= 0),
  primary key (snapshot_id, platform)
);

-- Versions made by a lifecycle step rather than a reward: together with
-- policy_updates.version_after, every version 1..current appears exactly once.
create table policy_lifecycle (
  version         bigint primary key check (version >= 1),
  key             text not null unique check (length(key) between 1 and 200),
  kind            text not null check (kind in ('rollback', 'reset', 'import')),
  snapshot_id     bigint references policy_snapshots (snapshot_id),  -- rollback: the snapshot restored
  saved_snapshot  bigint references policy_snapshots (snapshot_id),  -- the state replaced, saved first
  source_version  bigint check (source_version >= 0),  -- the version restored or imported
  detail          jsonb not null default '{}'::jsonb check (jsonb_typeof(detail) = 'object'),
  applied_at      timestamptz not null
);

-- Service-only, like the rest of the policy state: no policy for signed-in users.
alter table policy_snapshots enable row level security;
alter table policy_snapshot_preferences enable row level security;
alter table policy_snapshot_theta enable row level security;
alter table policy_snapshot_baselines enable row level security;
alter table policy_lifecycle enable row level security;
