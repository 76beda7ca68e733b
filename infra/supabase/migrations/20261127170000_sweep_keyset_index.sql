-- A sweep walks the due rewards in (eligible_at, post_id) order, one bounded batch
-- after another: with this index each batch is an index range scan, not a sort of
-- the whole backlog.
create index rewards_pending_due_keyset on rewards (eligible_at, post_id) where status = 'pending';
drop index if exists rewards_pending_due;
