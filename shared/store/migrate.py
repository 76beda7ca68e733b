"""Apply the timestamped SQL migrations in order, once each.

The Supabase CLI applies the same files in production; this runner serves the
embedded default and any ``DATABASE_URL``.
"""

from __future__ import annotations

from pathlib import Path

import psycopg

# Any constant works; it only has to be the same in every process.
_MIGRATION_LOCK = 7_240_118_301


class SchemaMissing(RuntimeError):
    """The database has none of the product's tables: it was never migrated."""


def check_schema(url: str) -> None:
    """Raise SchemaMissing, with what to run, when the database has no product tables."""
    with psycopg.connect(url, autocommit=True, prepare_threshold=None) as conn:
        row = conn.execute("select to_regclass('policy_state') is not null").fetchone()
    if row is None or not row[0]:
        raise SchemaMissing(
            "the database at DATABASE_URL has none of the product's tables: apply the migrations once "
            "with AUTO_MIGRATE=true (or `supabase db push`, docs/deploy.md), then run this again"
        )


def migration_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.sql") if p.is_file())


def migrate(url: str, directory: Path) -> list[str]:
    """Apply pending migrations; returns the versions applied now.

    Each file runs in its own transaction under a transaction-scoped advisory
    lock, so concurrent runners apply each file once, and nothing is left
    locked when a connection goes back to a transaction pooler (pgbouncer,
    Supabase's pooler): a session lock taken on one server connection and
    released on another would stay held.
    """
    applied_now: list[str] = []
    with psycopg.connect(url, autocommit=True, prepare_threshold=None) as conn:
        for path in migration_files(directory):
            version = path.stem
            with conn.transaction():
                conn.execute("select pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                conn.execute(
                    "create table if not exists app_migrations ("
                    " version text primary key, applied_at timestamptz not null default now())"
                )
                # On Supabase every new table is granted to anon and authenticated: RLS
                # without a policy keeps this history to the service.
                conn.execute("alter table app_migrations enable row level security")
                if conn.execute("select 1 from app_migrations where version = %s", (version,)).fetchone():
                    continue
                conn.execute(path.read_text("utf-8").encode())
                conn.execute("insert into app_migrations (version) values (%s)", (version,))
            applied_now.append(version)
    return applied_now
