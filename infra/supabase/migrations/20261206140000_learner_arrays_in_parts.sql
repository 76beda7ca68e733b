-- The learner's arrays in parts of at most 200 floats, a row each (shared/store/learner.py).
-- A row over about 2 kB has its value moved out of line (TOAST), and every rewrite of such a
-- value leaves its old chunks dead until a vacuum visits: theta (6.4 kB) is rewritten at every
-- group of updates, so at the benchmark's pace the rows a decision reads kept 1.6-2.1 MB on disk
-- for under 0.1 MB live, and the checkpoint's table hundreds of MB (docs/performance.md,
-- section 8). A part stays in its row, is updated in place, and its old version is pruned in
-- its page without a vacuum. The snapshots keep the same layout, so copies between them stay
-- row for row.
lock table learner_arrays, learner_statistics, policy_snapshot_arrays in access exclusive mode;

alter table learner_arrays drop constraint learner_arrays_pkey;
alter table learner_arrays add column part int not null default 0;
insert into learner_arrays (name, part, data)
  select name, p, data[p * 200 + 1 : (p + 1) * 200]
  from learner_arrays, generate_series(1, (cardinality(data) - 1) / 200) as p;
update learner_arrays set data = data[1:200] where part = 0 and cardinality(data) > 200;
alter table learner_arrays
  alter column part drop default,
  add primary key (name, part),
  add constraint learner_arrays_part_check check (part >= 0 and cardinality(data) <= 200);

alter table learner_statistics drop constraint learner_statistics_pkey;
alter table learner_statistics add column part int not null default 0;
insert into learner_statistics (name, part, data)
  select name, p, data[p * 200 + 1 : (p + 1) * 200]
  from learner_statistics, generate_series(1, (cardinality(data) - 1) / 200) as p;
update learner_statistics set data = data[1:200] where part = 0 and cardinality(data) > 200;
alter table learner_statistics
  alter column part drop default,
  add primary key (name, part),
  add constraint learner_statistics_part_check check (part >= 0 and cardinality(data) <= 200);

alter table policy_snapshot_arrays drop constraint policy_snapshot_arrays_pkey;
alter table policy_snapshot_arrays add column part int not null default 0;
insert into policy_snapshot_arrays (snapshot_id, name, part, data)
  select snapshot_id, name, p, data[p * 200 + 1 : (p + 1) * 200]
  from policy_snapshot_arrays, generate_series(1, (cardinality(data) - 1) / 200) as p;
update policy_snapshot_arrays set data = data[1:200] where part = 0 and cardinality(data) > 200;
alter table policy_snapshot_arrays
  alter column part drop default,
  add primary key (snapshot_id, name, part),
  add constraint policy_snapshot_arrays_part_check check (part >= 0 and cardinality(data) <= 200);
