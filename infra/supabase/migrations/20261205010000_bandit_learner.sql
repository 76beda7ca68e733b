-- The reward-model learner (shared/bandit.py, docs/learning.md): its state is a set
-- of named float arrays (RidgeIGW.state()). A decision reads only the solution
-- ("theta", "meta", its business's "business/<id>/v": a few kB); update_policy reads
-- and rewrites all of them under the version lock.

create table learner_arrays (
  name  text primary key check (length(name) between 1 and 200),
  data  float8[] not null check (array_ndims(data) = 1 and app_all_finite(data))
);
-- Out of line and uncompressed: the statistics are megabytes of random floats
-- (nothing to compress), rewritten whole on every update; the heap rows stay tiny.
alter table learner_arrays alter column data set storage external;

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
alter table policy_snapshot_arrays enable row level security;
