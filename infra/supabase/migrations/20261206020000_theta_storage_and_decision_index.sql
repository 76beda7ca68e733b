-- The gradient learner rewrites every θ row (768 float8) on each update. Stored plain, a
-- row filled a page, no update could reuse a page, and every decision's read of θ scanned
-- the dead ones (40 simulated days: 28,476 pages, 233 MB, for 18 live rows; issue 14).
-- The type's default storage keeps the table's pages few: the arrays live out of line and
-- a read reaches only the live rows' chunks.
alter table policy_theta alter column theta set storage extended;

-- The off-policy evaluation and the normaliser's fit read the latest decisions: an
-- index on created_at, not a sort of every decision.
create index if not exists decisions_created_at on decisions (created_at);
