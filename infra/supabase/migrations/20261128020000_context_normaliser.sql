-- Context normaliser (docs/decisions.md item 48, shared/normaliser.py): θ sees
-- x' = normaliser.apply(x, platform), not the raw x. A normaliser is immutable
-- and named by a content hash, so an instance caches its arrays by version.

create table context_normalisers (
  version          text primary key check (version ~ '^n1-[0-9a-f]{12}$'),
  mean             float8[] not null check (
    array_ndims(mean) = 1 and cardinality(mean) = 768 and app_all_finite(mean)
  ),
  -- basis: k rows of 768, flattened row by row; scale: k.
  basis            float8[] not null check (
    array_ndims(basis) = 1 and cardinality(basis) = 768 * cardinality(scale) and app_all_finite(basis)
  ),
  scale            float8[] not null check (
    array_ndims(scale) = 1 and cardinality(scale) between 1 and 763 and app_all_finite(scale)
  ),
  platform_weight  float8 not null check (app_is_finite(platform_weight) and platform_weight >= 0),
  fitted_at        timestamptz not null,
  fitted_on        bigint not null check (fitted_on >= 2),  -- how many logged contexts
  active           boolean not null default false
);
alter table context_normalisers alter column mean set storage plain;
-- At most one normaliser is active (none: the decisions use the raw x).
create unique index context_normalisers_one_active on context_normalisers ((true)) where active;

-- The normaliser a decision's x' was made with (null: the raw x). x stays raw.
alter table decisions add column normaliser_version text references context_normalisers (version);

-- A snapshot records the normaliser its θ was learned under; a rollback restores it.
alter table policy_snapshots add column normaliser_version text references context_normalisers (version);

-- Fitting and activating a normaliser is a lifecycle change (θ starts afresh).
alter table policy_lifecycle drop constraint policy_lifecycle_kind_check;
alter table policy_lifecycle add constraint policy_lifecycle_kind_check
  check (kind in ('rollback', 'reset', 'import', 'normaliser'));
alter table policy_snapshots drop constraint policy_snapshots_reason_check;
alter table policy_snapshots add constraint policy_snapshots_reason_check
  check (reason in ('manual', 'periodic', 'before_rollback', 'before_reset', 'before_import', 'before_normaliser'));

-- Service-only, like the rest of the policy state: no policy for signed-in users.
alter table context_normalisers enable row level security;
