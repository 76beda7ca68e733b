-- The outbox keeps every task it delivered (status done or dead). Each delivery leaves the
-- partial index of pending tasks a dead entry whose schedule time is in the past, and every
-- lease walks the index from its start: with autovacuum's default threshold (a fifth of the
-- table) the dead entries grew with the history, and so did each lease (the demo's local
-- runner: 0.88 s → 1.58 s of leases per simulated week between weeks 1 and 12). Vacuumed once
-- a few thousand rows are dead, the walk stays short whatever the history.
alter table outbox set (
  autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000, autovacuum_vacuum_cost_delay = 0
);
