-- The reward-model learner's solution (learner_arrays: "theta", "meta" and a vector per
-- business) is rewritten at every group of updates, and a checkpoint rewrote every row
-- of both tables by deleting and inserting them. After 100,000 updates at the benchmark's
-- pace the rows a decision reads took 16 MB on disk for under 100 kB live (docs/performance.md,
-- section 8). Now a checkpoint updates the rows in place (shared/store/learner.py), each page
-- keeps half its room so an updated row stays in its page and its old version is pruned
-- there, and the out-of-line values (theta, the statistics) are vacuumed once about one
-- rewrite of them is dead.
alter table learner_arrays set (
  fillfactor = 50, toast.autovacuum_vacuum_threshold = 100
);
alter table learner_statistics set (
  fillfactor = 50, toast.autovacuum_vacuum_threshold = 2000
);
