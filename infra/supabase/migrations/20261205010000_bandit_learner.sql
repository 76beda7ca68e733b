-- The reward-model learner (shared/bandit.py, docs/learner-library.md): its state is a set
-- of named float arrays (RidgeIGW.state()), kept in two parts.
--
-- learner_arrays: the solution a decision reads ("theta", "meta", "business/<id>/v": a few
-- kB), current at every version; update_policy rewrites it.
create table learner_arrays (
  name  text primary key check (length(name) between 1 and 200),
  data  float8[] not null check (array_ndims(data) = 1 and app_all_finite(data))
);

-- learner_statistics: the whole state (megabytes: the ridge's precision matrix) as of
-- policy_state.statistics_version, a checkpoint. The state at any later version is the
-- checkpoint plus the ledger's groups since, learned again in order: update_policy writes a
-- checkpoint every few groups, a lifecycle change at once. Out of line and uncompressed:
-- random floats do not compress, and the heap rows stay tiny.
create table learner_statistics (
  name  text primary key check (length(name) between 1 and 200),
  data  float8[] not null check (array_ndims(data) = 1 and app_all_finite(data))
);
alter table learner_statistics alter column data set storage external;
alter table policy_state add column statistics_version bigint not null default 0
  check (statistics_version >= 0);

create table policy_snapshot_arrays (
  snapshot_id  bigint not null references policy_snapshots (snapshot_id) on delete cascade,
  name         text not null,
  data         float8[] not null check (array_ndims(data) = 1 and app_all_finite(data)),
  primary key (snapshot_id, name)
);
alter table policy_snapshot_arrays alter column data set storage external;

-- Which learner made a decision. The reward-model learner has no temperature:
-- its decisions log tau as null (epsilon is its floor, as for the gradient).
alter table decisions add column learner text not null default 'gradient'
  check (learner in ('gradient', 'bandit'));
alter table decisions alter column tau drop not null;
alter table decisions add constraint decisions_tau_by_learner
  check ((learner = 'gradient') = (tau is not null));

-- Rewards are learned in groups (update_policy): the bandit's result depends on how they
-- were grouped (forgetting and the businesses' residuals apply per group), so the ledger
-- names each reward's group by the version of its first reward (null: before this column).
alter table policy_updates add column group_version bigint
  check (group_version >= 1 and group_version <= version_after);

-- The bandit's arrays are laid out by the action space: when it changes, update_policy
-- keeps the old state as a snapshot before it starts afresh.
alter table policy_snapshots drop constraint policy_snapshots_reason_check;
alter table policy_snapshots add constraint policy_snapshots_reason_check
  check (reason in ('manual', 'periodic', 'before_rollback', 'before_reset', 'before_import', 'before_normaliser',
                    'before_space_change'));

-- Service-only, like the rest of the policy state: no policy for signed-in users.
alter table learner_arrays enable row level security;
alter table learner_statistics enable row level security;
alter table policy_snapshot_arrays enable row level security;
