-- The production path (docs/spec.md §1, §7): webhook bookkeeping, Scheduler sweep claims,
-- row-level security, and the Supabase Database Webhook on snapshot insert.

-- A snapshot inserted straight into the table (by the metrics collector) is
-- "unprocessed" until record_snapshot has looked at it; the sweep catches
-- the ones whose webhook was lost.
alter table snapshots add column processed_at timestamptz;
update snapshots set processed_at = received_at;
create index snapshots_unprocessed on snapshots (snapshot_id) where processed_at is null;

-- One row per (job, schedule time): a Scheduler job delivered twice runs once.
create table sweep_runs (
  job            text not null check (length(job) between 1 and 200),
  scheduled_for  timestamptz not null,
  started_at     timestamptz not null,
  report         jsonb,
  primary key (job, scheduled_for)
);

-- Supabase's roles and auth.uid() exist on Supabase; plain Postgres (the
-- embedded default, tests) gets stand-ins so the same policies apply.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin bypassrls;
  end if;
exception when duplicate_object or unique_violation then
  null;  -- another database of the same cluster created it concurrently
end
$$;

create schema if not exists auth;
do $$
begin
  if not exists (
    select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'auth' and p.proname = 'uid'
  ) then
    -- The same definition Supabase uses: the subject of the request's JWT claims.
    execute $f$
      create function auth.uid() returns uuid language sql stable as $body$
        select nullif(
          coalesce(
            current_setting('request.jwt.claim.sub', true),
            (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
          ), ''
        )::uuid
      $body$
    $f$;
  end if;
end
$$;
grant usage on schema auth to authenticated, anon, service_role;

-- Row-level security on every table. Signed-in users read their own
-- businesses' rows; nothing else is granted to them. Policy state, the
-- ledger, the outbox and sweep claims are service-only (no policy at all).
alter table profiles enable row level security;
alter table posts enable row level security;
alter table decisions enable row level security;
alter table snapshots enable row level security;
alter table rewards enable row level security;
alter table policy_preferences enable row level security;
alter table policy_theta enable row level security;
alter table policy_baselines enable row level security;
alter table policy_state enable row level security;
alter table policy_updates enable row level security;
alter table outbox enable row level security;
alter table sweep_runs enable row level security;
-- app_migrations is the product runner's own history (shared/store/migrate.py, which
-- secures it itself); the Supabase CLI keeps its history elsewhere and has no such table.
do $$
begin
  if to_regclass('app_migrations') is not null then
    alter table app_migrations enable row level security;
  end if;
end
$$;

grant select on profiles, posts, decisions, snapshots, rewards to authenticated;

create policy own_profiles on profiles for select to authenticated
  using (owner_id = auth.uid());
create policy own_posts on posts for select to authenticated
  using (business_id in (select business_id from profiles where owner_id = auth.uid()));
create policy own_decisions on decisions for select to authenticated
  using (post_id in (select post_id from posts));
create policy own_snapshots on snapshots for select to authenticated
  using (post_id in (select post_id from posts));
create policy own_rewards on rewards for select to authenticated
  using (post_id in (select post_id from posts));

-- The Database Webhook: only where Supabase's webhook function exists (plain
-- Postgres skips it). The secret header is read from Supabase Vault at
-- trigger time, so it never appears in this file or in the trigger text.
-- On Supabase without pg_net or Vault the migration stops, saying what to
-- enable: without the trigger no snapshot would reach record_snapshot.
do $$
begin
  if exists (
    select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'supabase_functions' and p.proname = 'http_request'
  ) then
    if not exists (select 1 from pg_namespace where nspname = 'net')
       or not exists (select 1 from pg_namespace where nspname = 'vault') then
      raise exception 'the snapshots webhook needs the pg_net and Vault extensions: enable both (Database, Extensions), then push the migrations again';
    end if;
    execute $f$
      create or replace function public.notify_record_snapshot() returns trigger
      language plpgsql security definer set search_path = '' as $body$
      declare
        url text := (select decrypted_secret from vault.decrypted_secrets where name = 'record_snapshot_url');
        secret text := (select decrypted_secret from vault.decrypted_secrets where name = 'record_snapshot_webhook_secret');
      begin
        perform net.http_post(
          url := url,
          body := jsonb_build_object(
            'type', 'INSERT', 'table', 'snapshots', 'schema', 'public',
            'record', jsonb_build_object('snapshot_id', new.snapshot_id, 'post_id', new.post_id),
            'old_record', null
          ),
          headers := jsonb_build_object('Content-Type', 'application/json', 'X-Webhook-Secret', secret),
          timeout_milliseconds := 5000
        );
        return new;
      end
      $body$
    $f$;
    execute 'create trigger snapshots_record_snapshot after insert on public.snapshots
             for each row execute function public.notify_record_snapshot()';
  end if;
end
$$;
